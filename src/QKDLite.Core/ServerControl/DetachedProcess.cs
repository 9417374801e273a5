using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Starts a program that outlives the PowerShell session that started it, with its standard output
/// and error appended to a log file, never to the caller's console or pipes (a child holding the
/// caller's output pipe would keep whoever reads it waiting until the server ends).
/// </summary>
public static class DetachedProcess
{
    /// <summary>
    /// Starts <paramref name="fileName"/> with <paramref name="arguments"/>. With
    /// <paramref name="withInput"/> the returned process's standard input is a pipe the caller writes
    /// to and closes; otherwise the program reads an empty input.
    /// </summary>
    /// <remarks>
    /// On Linux and macOS the program replaces a /bin/sh that redirects its output (so it keeps the
    /// returned process id), in a new session through setsid where available, so that closing the
    /// terminal does not hang it up. On Windows cmd.exe redirects the output and the returned process
    /// is cmd.exe, which lives as long as the program; the program's own id is in its state file.
    /// </remarks>
    public static Process Start(string fileName, IReadOnlyList<string> arguments, string logPath, bool withInput)
    {
        var info = RuntimeInformation.IsOSPlatform(OSPlatform.Windows)
            ? WindowsStartInfo(fileName, arguments, logPath, withInput)
            : UnixStartInfo(fileName, arguments, logPath, withInput);
        info.UseShellExecute = false;
        info.CreateNoWindow = true;
        info.RedirectStandardInput = withInput;
        info.WorkingDirectory = Path.GetDirectoryName(logPath) ?? Environment.CurrentDirectory;
        return Process.Start(info) ?? throw new InvalidOperationException($"'{info.FileName}' did not start.");
    }

    private static ProcessStartInfo UnixStartInfo(string fileName, IReadOnlyList<string> arguments, string logPath, bool withInput)
    {
        // The log path and the program's arguments are the shell's positional parameters, never part
        // of the script text, so no file name can be read as shell syntax.
        var script = withInput
            ? "exec >>\"$1\" 2>&1; shift; exec \"$@\""
            : "exec >>\"$1\" 2>&1 </dev/null; shift; exec \"$@\"";
        var words = new List<string> { "-c", script, "qkdlite-etsi", logPath };
        var setsid = FindOnPath("setsid");
        if (setsid is not null) words.Add(setsid);
        words.Add(fileName);
        words.AddRange(arguments);
        return new ProcessStartInfo("/bin/sh", CommandLineQuoting.Join(words));
    }

    private static ProcessStartInfo WindowsStartInfo(string fileName, IReadOnlyList<string> arguments, string logPath, bool withInput)
    {
        // cmd /s /c "<line>" runs <line> as written, outer quotes removed. Every word is quoted so
        // that &, |, < and > in paths stay literal.
        var line = CommandLineQuoting.Join(new[] { fileName }.Concat(arguments), quoteAll: true)
            + " >>" + CommandLineQuoting.Join(new[] { logPath }, quoteAll: true) + " 2>&1"
            + (withInput ? string.Empty : " <NUL");
        var comSpec = Environment.GetEnvironmentVariable("ComSpec");
        return new ProcessStartInfo(string.IsNullOrEmpty(comSpec) ? "cmd.exe" : comSpec, "/d /s /c \"" + line + "\"");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator)
            .Where(p => p.Length > 0)
            .Select(p => Path.Combine(p, name))
            .FirstOrDefault(File.Exists);
}
