using System;
using System.Buffers;
using System.IO;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Org.BouncyCastle.Tls;

namespace QKDLite.EtsiServer.Tls;

/// <summary>
/// BouncyCastle's TLS in non-blocking mode between the network pipe of a Kestrel connection and the
/// plaintext pipe the HTTP layer reads and writes: records are offered as they arrive
/// (<see cref="TlsProtocol.OfferInput(byte[], int, int)"/>) and output is collected with
/// <see cref="TlsProtocol.ReadOutput"/>, so no thread waits on a connection. Reading and writing are two
/// independent loops; only the short calls into the protocol object (not thread-safe) share a gate.
/// </summary>
internal sealed class NonBlockingTlsConnection
{
    private const int BufferSize = 16 * 1024 + 2048;

    private readonly TlsServerProtocol _protocol;
    private readonly IDuplexPipe _network;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _output = new byte[BufferSize];
    private readonly byte[] _plaintext = new byte[BufferSize];

    public NonBlockingTlsConnection(TlsServerProtocol protocol, IDuplexPipe network)
    {
        _protocol = protocol;
        _network = network;
    }

    /// <summary>Runs the handshake to its end; throws (after sending the alert) when it fails.</summary>
    public async Task HandshakeAsync(CancellationToken cancellation)
    {
        while (_protocol.IsHandshaking)
        {
            var result = await _network.Input.ReadAsync(cancellation);
            try
            {
                await OfferAsync(result.Buffer, cancellation);
            }
            finally
            {
                _network.Input.AdvanceTo(result.Buffer.End);
            }
            if (_protocol.IsHandshaking && (result.IsCompleted || result.IsCanceled))
                throw new IOException("the client closed the connection during the handshake");
        }
    }

    /// <summary>
    /// Moves data until both directions are done: network records to <paramref name="plaintextIn"/>
    /// (completed when the client closes), and <paramref name="plaintextOut"/> to network records
    /// (close_notify once the HTTP layer completes it). <paramref name="stopReading"/> ends the read loop.
    /// </summary>
    public Task RunAsync(PipeWriter plaintextIn, PipeReader plaintextOut, CancellationToken stopReading) =>
        Task.WhenAll(ReadLoopAsync(plaintextIn, stopReading), WriteLoopAsync(plaintextOut));

    private async Task ReadLoopAsync(PipeWriter plaintextIn, CancellationToken stopReading)
    {
        Exception? failure = null;
        try
        {
            // The client's first request may have come with its last handshake flight.
            await OfferAsync(ReadOnlySequence<byte>.Empty, CancellationToken.None, plaintextIn);
            await plaintextIn.FlushAsync(CancellationToken.None);
            while (true)
            {
                var result = await _network.Input.ReadAsync(stopReading);
                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty) await OfferAsync(buffer, CancellationToken.None, plaintextIn);
                }
                finally
                {
                    _network.Input.AdvanceTo(buffer.End);
                }
                var flushed = await plaintextIn.FlushAsync(CancellationToken.None);
                if (result.IsCompleted || result.IsCanceled || flushed.IsCompleted || _protocol.IsClosed) break;
            }
        }
        catch (OperationCanceledException)
        {
            // Asked to stop: the HTTP layer is done with this connection.
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            failure = e;
        }
        finally
        {
            Array.Clear(_plaintext);
            await plaintextIn.CompleteAsync(failure);
        }
    }

    private async Task WriteLoopAsync(PipeReader plaintextOut)
    {
        try
        {
            while (true)
            {
                var result = await plaintextOut.ReadAsync();
                var buffer = result.Buffer;
                try
                {
                    if (!buffer.IsEmpty) await WriteAsync(buffer);
                }
                finally
                {
                    plaintextOut.AdvanceTo(buffer.End);
                }
                if (result.IsCompleted || result.IsCanceled) break;
            }
            await CloseAsync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or OperationCanceledException)
        {
            // The connection is gone; nothing more can be sent.
        }
        finally
        {
            await plaintextOut.CompleteAsync();
        }
    }

    /// <summary>Offers received records; decrypted application data goes to <paramref name="plaintextIn"/>.</summary>
    private async Task OfferAsync(ReadOnlySequence<byte> records, CancellationToken cancellation, PipeWriter? plaintextIn = null)
    {
        await _gate.WaitAsync(cancellation);
        try
        {
            foreach (var segment in records)
            {
                if (MemoryMarshal.TryGetArray(segment, out var array))
                    _protocol.OfferInput(array.Array!, array.Offset, array.Count);
                else
                    _protocol.OfferInput(segment.ToArray());
            }
            int available;
            while (plaintextIn is not null && (available = _protocol.GetAvailableInputBytes()) > 0)
            {
                var read = _protocol.ReadInput(_plaintext, 0, Math.Min(available, _plaintext.Length));
                plaintextIn.Write(_plaintext.AsSpan(0, read));
                // Key containers pass through here: leave no copy behind.
                Array.Clear(_plaintext, 0, read);
            }
        }
        finally
        {
            // Handshake messages, alerts (a failed handshake's too) and close_notify replies.
            try
            {
                await SendOutputAsync();
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private async Task WriteAsync(ReadOnlySequence<byte> plaintext)
    {
        await _gate.WaitAsync();
        try
        {
            foreach (var segment in plaintext) _protocol.WriteApplicationData(segment.Span);
            await SendOutputAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task CloseAsync()
    {
        await _gate.WaitAsync();
        try
        {
            if (!_protocol.IsClosed) _protocol.Close();
            await SendOutputAsync();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sends what the protocol produced. Called with the gate held, so records leave in order.</summary>
    private async Task SendOutputAsync()
    {
        var any = false;
        int available;
        while ((available = _protocol.GetAvailableOutputBytes()) > 0)
        {
            var read = _protocol.ReadOutput(_output, 0, Math.Min(available, _output.Length));
            _network.Output.Write(_output.AsSpan(0, read));
            any = true;
        }
        if (any) await _network.Output.FlushAsync();
    }
}
