using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace QKDLite.Core.ServerControl;

/// <summary>The last lines a server wrote to its log, for error messages.</summary>
public static class LogTail
{
    private const int MaxBytes = 16 * 1024;

    /// <summary>
    /// The last <paramref name="maxLines"/> non-empty lines written to <paramref name="path"/> after
    /// byte <paramref name="fromOffset"/> (the log's length before this run), or none.
    /// </summary>
    public static IReadOnlyList<string> Read(string path, long fromOffset, int maxLines)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(fromOffset > stream.Length ? 0 : fromOffset, stream.Length - MaxBytes);
            stream.Seek(start, SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var lines = reader.ReadToEnd()
                .Split(new[] { "\r\n", "\n" }, StringSplitOptions.None)
                .Select(l => l.TrimEnd())
                .Where(l => l.Length > 0)
                .ToList();
            return lines.Skip(Math.Max(0, lines.Count - maxLines)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Array.Empty<string>();
        }
    }

    /// <summary>The lines as a block for a message, or a note that there were none.</summary>
    public static string Format(IReadOnlyList<string> lines, string path) =>
        lines.Count == 0
            ? $"It wrote nothing to '{path}'."
            : $"The last lines of '{path}':{Environment.NewLine}    " + string.Join(Environment.NewLine + "    ", lines);
}
