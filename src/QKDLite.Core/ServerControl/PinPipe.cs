using System.Diagnostics;
using System.IO;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Hands a PIN to a child process through its standard input: unlike a command line or an
/// environment variable, a pipe is not readable by other processes (/proc/&lt;pid&gt;/cmdline, environ).
/// </summary>
public static class PinPipe
{
    /// <summary>Writes the PIN and a line break, then closes the pipe. A child that has already exited is not an error here: its exit is reported by the caller.</summary>
    public static void Write(Process process, byte[] pin)
    {
        try
        {
            var input = process.StandardInput.BaseStream;
            input.Write(pin, 0, pin.Length);
            input.WriteByte((byte)'\n');
            input.Flush();
        }
        catch (IOException)
        {
            // The child ended before reading (bad configuration): its exit code and log say why.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
            }
        }
    }
}
