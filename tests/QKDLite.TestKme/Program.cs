using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace QKDLite.TestKme;

/// <summary>
/// Executable mode: <c>dotnet QKDLite.TestKme.dll --dir &lt;dir&gt; [options]</c> makes the PKI in
/// &lt;dir&gt;, starts the pair, writes &lt;dir&gt;/kme.json and prints <c>READY &lt;path of kme.json&gt;</c>;
/// runs until stdin closes, SIGTERM/SIGINT, or --max-seconds. See README.md.
/// </summary>
internal static class Program
{
    private const string Usage = """
        usage: dotnet QKDLite.TestKme.dll --dir <dir> [options]
          --dir <dir>                 where the PKI files and kme.json go (created if missing)
          --max-seconds <n>           stop after n seconds (default 600)
          --no-stdin                  do not stop when stdin closes (for callers whose stdin is /dev/null)
          --key-size <bits>           key_size (default 256)
          --min-key-size <bits>       min_key_size (default 64)
          --max-key-size <bits>       max_key_size (default 1024)
          --max-key-per-request <n>   max_key_per_request (default 128)
          --pool-size <n>             initial stored_key_count (default 10000)
          --max-key-count <n>         max_key_count (default: pool size)
          --max-sae-id-count <n>      max_SAE_ID_count (default 0)
          --key-algorithm rsa|ecdsa   certificate keys (default rsa: RSA 2048)
          --pfx-password <pw>         password of the *.pw.pfx files (default: random, written to kme.json)
          --tls platform|hybrid|pq-only  Kestrel's TLS 1.2/1.3 (default), or BouncyCastle TLS 1.3 with
                                      hybrid ML-KEM groups and classical ones, or hybrid/ML-KEM groups only
        """;

    public static async Task<int> Main(string[] args)
    {
        Arguments parsed;
        try
        {
            parsed = Arguments.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("error: " + e.Message);
            await Console.Error.WriteLineAsync(Usage);
            return 2;
        }

        if (parsed.Help)
        {
            Console.WriteLine(Usage);
            return 0;
        }

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(parsed.MaxSeconds));
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true; // shut down cleanly instead of being killed
            stop.Cancel();
        }

        var directory = Path.GetFullPath(parsed.Directory);
        Directory.CreateDirectory(directory);
        var manifestPath = Path.Combine(directory, "kme.json");
        File.Delete(manifestPath); // a stale manifest must never point at a dead pair

        using var pki = TestPki.Create(algorithm: parsed.Algorithm);
        var clients = new List<(string Key, string Role, TestCertificate Certificate)>
        {
            ("SAE-A", "master", pki.CreateClientCertificate("SAE-A")),
            ("SAE-B", "slave", pki.CreateClientCertificate("SAE-B")),
            ("SAE-X", "unrelated", pki.CreateClientCertificate("SAE-X")),
            ("wrong-ca", "wrong-ca", pki.Unrelated.CreateClientCertificate("SAE-A")),
        };
        try
        {
            TestKmePair started;
            try
            {
                started = await TestKmePair.StartAsync(parsed.ToOptions(pki), stop.Token);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync("error: " + e.Message);
                return 2;
            }

            await using var pair = started;
            var manifest = WriteManifest(directory, manifestPath, parsed, pki, pair, clients);
            Console.WriteLine("READY " + manifest);
            Console.Out.Flush();

            if (!parsed.NoStdin)
            {
                WatchStdin(stop);
            }

            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
                // stdin closed, signal or --max-seconds
            }

            Console.WriteLine("STOPPING");
            return 0;
        }
        finally
        {
            foreach (var client in clients)
            {
                client.Certificate.Dispose();
            }
        }
    }

    private static void WatchStdin(CancellationTokenSource stop)
    {
        var thread = new Thread(() =>
        {
            try
            {
                using var stdin = Console.OpenStandardInput();
                var buffer = new byte[256];
                while (stdin.Read(buffer, 0, buffer.Length) > 0)
                {
                    // input is ignored; only its end matters
                }
            }
            catch (IOException)
            {
                // treat as closed
            }

            try
            {
                stop.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // already stopping
            }
        })
        {
            IsBackground = true,
            Name = "stdin watcher",
        };
        thread.Start();
    }

    private static string WriteManifest(
        string directory, string manifestPath, Arguments parsed, TestPki pki, TestKmePair pair,
        List<(string Key, string Role, TestCertificate Certificate)> clients)
    {
        var caPem = pki.WriteCaPem(directory, "ca");
        var wrongCaPem = pki.Unrelated.WriteCaPem(directory, "unrelated-ca"); // not "wrong-ca": that client's files would overwrite it
        var password = parsed.PfxPassword ?? Convert.ToHexString(RandomNumberGenerator.GetBytes(12)).ToLowerInvariant();
        var now = DateTimeOffset.UtcNow;

        var temp = manifestPath + ".tmp";
        using (var stream = File.Create(temp))
        using (var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteNumber("version", 1);
            w.WriteNumber("pid", Environment.ProcessId);
            w.WriteString("startedAt", now);
            w.WriteString("stopsAt", now.AddSeconds(parsed.MaxSeconds));
            foreach (var (name, kme) in new[] { ("kmeA", pair.KmeA), ("kmeB", pair.KmeB) })
            {
                var certPath = Path.Combine(directory, name == "kmeA" ? "kme-a.crt.pem" : "kme-b.crt.pem");
                File.WriteAllText(certPath, kme.ServerCertificate.CertificatePem);
                w.WriteStartObject(name);
                w.WriteString("id", kme.KmeId);
                w.WriteString("url", kme.BaseUri.GetLeftPart(UriPartial.Authority));
                w.WriteNumber("port", kme.Port);
                w.WriteString("serverCertPem", certPath);
                w.WriteString("serverSubject", kme.ServerCertificate.Certificate.Subject);
                w.WriteString("serverThumbprint", kme.ServerCertificate.Thumbprint);
                w.WriteEndObject();
            }

            w.WriteString("controlUrl", pair.ControlUri!.GetLeftPart(UriPartial.Authority));
            w.WriteString("caPem", caPem);
            w.WriteString("wrongCaPem", wrongCaPem);
            w.WriteStartObject("server");
            w.WriteStartArray("dnsNames");
            w.WriteStringValue("localhost");
            w.WriteEndArray();
            w.WriteStartArray("ipAddresses");
            w.WriteStringValue("127.0.0.1");
            w.WriteStringValue("::1");
            w.WriteEndArray();
            w.WriteString("keyAlgorithm", pki.Algorithm.ToString());
            w.WriteString("tls", parsed.Tls switch
            {
                TestKmeTls.Hybrid => "1.3 (BouncyCastle), hybrid ML-KEM and classical groups; client certificate required (CA: caPem)",
                TestKmeTls.PostQuantumOnly => "1.3 (BouncyCastle), hybrid and ML-KEM groups only; client certificate required (CA: caPem)",
                _ => "1.2, 1.3; client certificate required (CA: caPem)",
            });
            w.WriteString("tlsMode", parsed.Tls.ToString());
            w.WriteEndObject();
            w.WriteString("pfxPassword", password);
            w.WriteStartObject("clients");
            foreach (var (key, role, certificate) in clients)
            {
                var files = certificate.WriteFiles(directory, key, password);
                w.WriteStartObject(key);
                w.WriteString("saeId", certificate.CommonName);
                w.WriteString("role", role);
                w.WriteString("certPem", files.CertificatePem);
                w.WriteString("keyPem", files.PrivateKeyPem);
                w.WriteString("pfx", files.Pfx);
                w.WriteString("pfxWithPassword", files.PfxWithPassword);
                w.WriteString("thumbprint", certificate.Thumbprint);
                w.WriteEndObject();
            }

            w.WriteEndObject();
            var o = pair.Options;
            w.WriteStartObject("settings");
            w.WriteNumber("key_size", o.KeySize);
            w.WriteNumber("min_key_size", o.MinKeySize);
            w.WriteNumber("max_key_size", o.MaxKeySize);
            w.WriteNumber("max_key_per_request", o.MaxKeyPerRequest);
            w.WriteNumber("stored_key_count", o.PoolSize);
            w.WriteNumber("max_key_count", pair.Pool.MaxKeyCount);
            w.WriteNumber("max_SAE_ID_count", o.MaxSaeIdCount);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        File.Move(temp, manifestPath, overwrite: true);
        return manifestPath;
    }

    private sealed class Arguments
    {
        public string Directory { get; private set; } = string.Empty;

        public int MaxSeconds { get; private set; } = 600;

        public bool NoStdin { get; private set; }

        public bool Help { get; private set; }

        public TestKeyAlgorithm Algorithm { get; private set; } = TestKeyAlgorithm.Rsa2048;

        public string? PfxPassword { get; private set; }

        public TestKmeTls Tls { get; private set; } = TestKmeTls.Platform;

        private Dictionary<string, int> Numbers { get; } = new(StringComparer.Ordinal);

        public static Arguments Parse(string[] args)
        {
            var result = new Arguments();
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value");
                int Number()
                {
                    var text = Value();
                    return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                        ? n
                        : throw new ArgumentException($"{name}: '{text}' is not a non-negative integer");
                }

                switch (name)
                {
                    case "--dir":
                        result.Directory = Value();
                        break;
                    case "--max-seconds":
                        result.MaxSeconds = Number();
                        if (result.MaxSeconds < 1)
                        {
                            throw new ArgumentException("--max-seconds must be at least 1");
                        }

                        break;
                    case "--no-stdin":
                        result.NoStdin = true;
                        break;
                    case "--key-algorithm":
                        result.Algorithm = Value().ToLowerInvariant() switch
                        {
                            "rsa" => TestKeyAlgorithm.Rsa2048,
                            "ecdsa" => TestKeyAlgorithm.EcdsaP256,
                            var other => throw new ArgumentException($"--key-algorithm: '{other}' is neither rsa nor ecdsa"),
                        };
                        break;
                    case "--tls":
                        result.Tls = Value().ToLowerInvariant() switch
                        {
                            "platform" => TestKmeTls.Platform,
                            "hybrid" => TestKmeTls.Hybrid,
                            "pq-only" => TestKmeTls.PostQuantumOnly,
                            var other => throw new ArgumentException($"--tls: '{other}' is not platform, hybrid or pq-only"),
                        };
                        break;
                    case "--pfx-password":
                        result.PfxPassword = Value();
                        break;
                    case "--key-size" or "--min-key-size" or "--max-key-size" or "--max-key-per-request"
                        or "--pool-size" or "--max-key-count" or "--max-sae-id-count":
                        result.Numbers[name] = Number();
                        break;
                    case "-h" or "--help" or "-?":
                        result.Help = true;
                        break;
                    default:
                        throw new ArgumentException($"unknown argument '{name}'");
                }
            }

            if (!result.Help && string.IsNullOrWhiteSpace(result.Directory))
            {
                throw new ArgumentException("--dir is required");
            }

            return result;
        }

        public TestKmeOptions ToOptions(TestPki pki)
        {
            var defaults = new TestKmeOptions();
            int Get(string name, int fallback) => Numbers.TryGetValue(name, out var n) ? n : fallback;
            return new TestKmeOptions
            {
                Pki = pki,
                EnableControlEndpoint = true,
                Tls = Tls,
                KeySize = Get("--key-size", defaults.KeySize),
                MinKeySize = Get("--min-key-size", defaults.MinKeySize),
                MaxKeySize = Get("--max-key-size", defaults.MaxKeySize),
                MaxKeyPerRequest = Get("--max-key-per-request", defaults.MaxKeyPerRequest),
                PoolSize = Get("--pool-size", defaults.PoolSize),
                MaxKeyCount = Numbers.TryGetValue("--max-key-count", out var max) ? max : null,
                MaxSaeIdCount = Get("--max-sae-id-count", defaults.MaxSaeIdCount),
            };
        }
    }
}
