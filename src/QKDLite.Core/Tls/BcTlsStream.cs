using System;
using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Org.BouncyCastle.Tls;

namespace QKDLite.Core.Tls;

/// <summary>
/// A TLS client connection over a network stream, driven by BouncyCastle's non-blocking protocol
/// (OfferInput / ReadOutput): every network read and write is asynchronous and cancellable, and a
/// pending read never blocks a write (HttpClient keeps a read pending on idle pooled connections).
/// </summary>
internal sealed class BcTlsStream : Stream
{
    private readonly Stream _network;
    private readonly TlsClientProtocol _protocol = new();
    private readonly object _state = new(); // guards _protocol: input and output sides share its state
    private readonly SemaphoreSlim _sending = new(1, 1); // keeps records in order on the wire
    private readonly byte[] _received = new byte[16 * 1024 + 512];
    private readonly string _where;
    private int _disposed;

    private BcTlsStream(Stream network, string where)
    {
        _network = network;
        _where = where;
    }

    /// <summary>Runs the handshake; the stream owns <paramref name="network"/> from here on.</summary>
    public static async Task<BcTlsStream> ConnectAsync(Stream network, TlsClient client, string where, CancellationToken cancellation)
    {
        var stream = new BcTlsStream(network, where);
        try
        {
            lock (stream._state) stream._protocol.Connect(client);
            await stream.SendPendingAsync(cancellation).ConfigureAwait(false);
            while (IsHandshaking(stream))
            {
                if (!await stream.ReceiveAsync(cancellation).ConfigureAwait(false))
                    throw new IOException("The server closed the connection during the TLS handshake.");
            }
            return stream;
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private static bool IsHandshaking(BcTlsStream stream)
    {
        lock (stream._state) return stream._protocol.IsHandshaking;
    }

    /// <summary>Reads one network chunk into the protocol and sends whatever it answers (alerts, key updates).</summary>
    private async Task<bool> ReceiveAsync(CancellationToken cancellation)
    {
        var count = await _network.ReadAsync(_received, 0, _received.Length, cancellation).ConfigureAwait(false);
        if (count == 0) return false;
        try
        {
            lock (_state) _protocol.OfferInput(_received, 0, count);
        }
        catch (TlsFatalAlertReceived e) when (TlsConnectException.ClientCertificateAlert(e.AlertDescription, _where, e) is { } refused)
        {
            throw refused;
        }
        await SendPendingAsync(cancellation).ConfigureAwait(false);
        return true;
    }

    private async Task SendPendingAsync(CancellationToken cancellation, byte[]? application = null, int offset = 0, int count = 0)
    {
        await _sending.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            byte[] output;
            lock (_state)
            {
                if (application is not null) _protocol.WriteApplicationData(application, offset, count);
                var available = _protocol.GetAvailableOutputBytes();
                if (available == 0) return;
                output = new byte[available];
                _protocol.ReadOutput(output, 0, available);
            }
            await _network.WriteAsync(output, 0, output.Length, cancellation).ConfigureAwait(false);
            await _network.FlushAsync(cancellation).ConfigureAwait(false);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <inheritdoc />
    public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
    {
        while (true)
        {
            lock (_state)
            {
                var available = _protocol.GetAvailableInputBytes();
                if (available > 0) return count == 0 ? 0 : _protocol.ReadInput(buffer, offset, Math.Min(count, available));
                if (_protocol.IsClosed) return 0;
            }
            if (!await ReceiveAsync(cancellationToken).ConfigureAwait(false)) return 0;
        }
    }

    /// <inheritdoc />
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        count == 0 ? Task.CompletedTask : SendPendingAsync(cancellationToken, buffer, offset, count);

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count, CancellationToken.None).GetAwaiter().GetResult();

    /// <inheritdoc />
    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public override void Flush()
    {
        // Every write is sent at once.
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            try
            {
                lock (_state)
                {
                    if (!_protocol.IsClosed) _protocol.Close(); // queues close_notify
                }
                SendPendingAsync(CancellationToken.None).Wait(TimeSpan.FromSeconds(1));
            }
            catch (Exception e) when (e is IOException or AggregateException or TlsException or ObjectDisposedException or InvalidOperationException)
            {
                // The peer is gone or the connection failed: nothing more to say to it.
            }
            _network.Dispose();
        }
        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override bool CanRead => true;
    /// <inheritdoc />
    public override bool CanWrite => true;
    /// <inheritdoc />
    public override bool CanSeek => false;
    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();
    /// <inheritdoc />
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException();
}
