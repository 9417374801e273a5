using System;
using System.IO;
using System.Linq.Expressions;
using System.Net.Http;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Tls;

/// <summary>
/// An HttpClient handler whose connections come from our own code: .NET's SocketsHttpHandler with a
/// ConnectCallback. Neither exists in netstandard2.0's API, but both do at run time on .NET 5 and later
/// (PowerShell 7): the handler is made by reflection and the callback delegate is compiled from an
/// expression against the runtime's own types. Requests then go to http:// URIs, so SocketsHttpHandler
/// adds no TLS of its own over the stream the callback returns.
/// </summary>
internal static class ConnectCallbackHandler
{
    private static readonly Type? HandlerType = Type.GetType("System.Net.Http.SocketsHttpHandler, System.Net.Http", throwOnError: false);
    private static readonly PropertyInfo? ConnectCallback = HandlerType?.GetProperty("ConnectCallback");

    // X509Certificate2.MatchesHostname (.NET 7) is the host name check SslStream itself uses.
    private static readonly MethodInfo? MatchesHostname =
        typeof(System.Security.Cryptography.X509Certificates.X509Certificate2).GetMethod("MatchesHostname", new[] { typeof(string), typeof(bool), typeof(bool) });

    /// <summary>True when this runtime can run the Hybrid and PostQuantumOnly profiles.</summary>
    public static bool IsSupported => ConnectCallback is not null && MatchesHostname is not null;

    /// <summary>Throws a clear error when <see cref="IsSupported"/> is false (Windows PowerShell 5.1, .NET 6).</summary>
    public static void EnsureSupported(string owner, TlsProfile profile)
    {
        if (!IsSupported)
            throw new QKDLiteException(ErrorIds.TlsProfileNotSupported, QKDLiteErrorCategory.NotInstalled,
                $"{owner}: TlsProfile {profile} needs PowerShell 7.4 or later (.NET 8+); this runtime is {System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription}. Use TlsProfile Classical here.", profile);
    }

    /// <summary>True when <paramref name="certificate"/> names <paramref name="host"/> (SAN DNS names with wildcards, IP addresses; CN only without SAN).</summary>
    public static bool NamesHost(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string host) =>
        (bool)MatchesHostname!.Invoke(certificate, new object[] { host.Trim('[', ']'), true, true })!;

    /// <summary>As <see cref="NamesHost"/>, or null where the runtime cannot tell (before .NET 7).</summary>
    public static bool? NamesHostOrNull(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate, string host) =>
        MatchesHostname is null ? null : NamesHost(certificate, host);

    /// <summary>A handler whose connections are made by <paramref name="connect"/>(host, port, cancellation).</summary>
    public static HttpMessageHandler Create(Func<string, int, CancellationToken, Task<Stream>> connect)
    {
        EnsureSupported("KME client", TlsProfile.Hybrid);
        // Builds: (SocketsHttpConnectionContext context, CancellationToken token) =>
        //     new ValueTask<Stream>(connect(context.DnsEndPoint.Host, context.DnsEndPoint.Port, token))
        var invoke = ConnectCallback!.PropertyType.GetMethod("Invoke")!;
        var context = Expression.Parameter(invoke.GetParameters()[0].ParameterType, "context");
        var token = Expression.Parameter(typeof(CancellationToken), "token");
        var endPoint = Expression.Property(context, "DnsEndPoint");
        var call = Expression.Invoke(Expression.Constant(connect),
            Expression.Property(endPoint, "Host"), Expression.Property(endPoint, "Port"), token);
        var body = Expression.New(invoke.ReturnType.GetConstructor(new[] { typeof(Task<Stream>) })!, call);
        var callback = Expression.Lambda(ConnectCallback.PropertyType, body, context, token).Compile();

        var handler = (HttpMessageHandler)Activator.CreateInstance(HandlerType!)!;
        ConnectCallback.SetValue(handler, callback);
        // A proxy would see the plaintext HTTP, and TLS must run end to end with the KME.
        HandlerType!.GetProperty("UseProxy")!.SetValue(handler, false);
        HandlerType.GetProperty("AllowAutoRedirect")!.SetValue(handler, false);
        return handler;
    }
}
