using System;
using System.IO;
using System.Threading.Tasks;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.EtsiServer.Hosting;

namespace QKDLite.EtsiServer;

/// <summary>
/// QKDLite_ETSI: loads the node configuration, opens the key store, serves ETSI GS QKD 014 until
/// SIGTERM or Ctrl+C. Exit codes: 0 after a clean stop, 1 for a configuration or start error (one
/// message on standard error, never a secret).
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        CommandLine command;
        try
        {
            command = CommandLine.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync("QKDLite_ETSI: " + e.Message + Environment.NewLine + CommandLine.Usage);
            return 1;
        }
        if (command.Help)
        {
            Console.WriteLine(CommandLine.Usage);
            return 0;
        }

        EtsiServerHost? host = null;
        string? stateFile = null;
        try
        {
            var configurationFile = Path.GetFullPath(command.ConfigurationFile!);
            var configuration = NodeConfiguration.Load(configurationFile);
            var settings = configuration.EtsiServer
                ?? throw new QKDLiteException(ErrorIds.EtsiServerNotConfigured, QKDLiteErrorCategory.ObjectNotFound,
                    $"'{configurationFile}' has no EtsiServer section.", configurationFile);
            settings.ValidateForServing(configurationFile);
            var keyStore = configuration.KeyStore
                ?? throw new QKDLiteException(ErrorIds.KeyStoreNotConnected, QKDLiteErrorCategory.ObjectNotFound,
                    $"'{configurationFile}' has no KeyStore section.", configurationFile);

            var store = OpenKeyStore(keyStore, configurationFile, command.PinFromStandardInput);
            host = await EtsiServerHost.StartAsync(new EtsiServerHostOptions
            {
                Settings = settings,
                ConfigurationFile = configurationFile,
                KeyStore = store,
            });

            stateFile = Path.GetFullPath(command.StateFile ?? StateFile.DefaultPath(configurationFile));
            StateFile.Write(stateFile, Environment.ProcessId, host.Listeners, host.Port, DateTime.UtcNow, configurationFile);
            Console.WriteLine("QKDLite_ETSI listening on " + string.Join(", ", host.Urls));
            Console.Out.Flush();

            await host.WaitForShutdownAsync();
            return 0;
        }
        catch (QKDLiteException e)
        {
            await Console.Error.WriteLineAsync($"QKDLite_ETSI: {e.Message} ({e.ErrorId})");
            return 1;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"QKDLite_ETSI: {e.Message}");
            return 1;
        }
        finally
        {
            if (stateFile is not null) StateFile.DeleteIfOwn(stateFile, Environment.ProcessId);
            if (host is not null) await host.DisposeAsync();
        }
    }

    private static IKeyStore OpenKeyStore(KeyStoreConfiguration keyStore, string configurationFile, bool pinFromStandardInput)
    {
        byte[]? pin = null;
        try
        {
            if (pinFromStandardInput)
            {
                using var stdin = Console.OpenStandardInput();
                pin = PinInput.FromStream(stdin);
            }
            else
            {
                pin = PinInput.FromConfiguration(keyStore, configurationFile);
            }
            return Pkcs11KeyStore.Open(keyStore.ToSettings(), pin);
        }
        finally
        {
            if (pin is not null) Array.Clear(pin);
        }
    }
}
