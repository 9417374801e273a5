using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using QKDLite.Core.Errors;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// How to run QKDLite_ETSI: the program staged in bin/etsi/ next to the module's assemblies, run by
/// the dotnet host (it needs the ASP.NET Core shared framework, which a self-contained PowerShell
/// does not carry), or by its own launcher when no dotnet host is found.
/// </summary>
public sealed class EtsiServerProgram
{
    /// <summary>Assembly name of the server program.</summary>
    public const string Name = "QKDLite_ETSI";

    private EtsiServerProgram(string fileName, IReadOnlyList<string> leadingArguments, string directory)
    {
        FileName = fileName;
        LeadingArguments = leadingArguments;
        Directory = directory;
    }

    /// <summary>The executable to start: the dotnet host, or the program's own launcher.</summary>
    public string FileName { get; }
    /// <summary>Arguments before the server's own (the program's .dll for the dotnet host).</summary>
    public IReadOnlyList<string> LeadingArguments { get; }
    /// <summary>The folder that holds the program.</summary>
    public string Directory { get; }

    /// <summary>The program in <paramref name="directory"/>, by default bin/etsi/ of the module.</summary>
    public static EtsiServerProgram Locate(string? directory = null)
    {
        var folder = Path.GetFullPath(directory ?? DefaultDirectory);
        var assembly = Path.Combine(folder, Name + ".dll");
        if (!File.Exists(assembly))
            throw new QKDLiteException(ErrorIds.EtsiServerProgramNotFound, QKDLiteErrorCategory.NotInstalled,
                $"The ETSI server program '{assembly}' does not exist. Build the module with './build.ps1 Build', which stages it in bin/etsi/.", assembly);
        var dotnet = FindDotnetHost();
        if (dotnet is not null) return new EtsiServerProgram(dotnet, new[] { assembly }, folder);
        var launcher = Path.Combine(folder, RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? Name + ".exe" : Name);
        if (File.Exists(launcher)) return new EtsiServerProgram(launcher, Array.Empty<string>(), folder);
        throw new QKDLiteException(ErrorIds.EtsiServerProgramNotFound, QKDLiteErrorCategory.NotInstalled,
            $"No dotnet host was found to run '{assembly}' (looked at this process, DOTNET_HOST_PATH, DOTNET_ROOT and PATH). Install the .NET 10 runtime with ASP.NET Core, or set DOTNET_ROOT.", assembly);
    }

    /// <summary>bin/etsi/ next to this assembly (the module's bin/ folder).</summary>
    public static string DefaultDirectory =>
        Path.Combine(Path.GetDirectoryName(typeof(EtsiServerProgram).Assembly.Location) ?? ".", "etsi");

    private static string? FindDotnetHost()
    {
        var executable = RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? "dotnet.exe" : "dotnet";
        var candidates = new List<string?>();
        try
        {
            // `dotnet pwsh` runs PowerShell inside the dotnet host itself.
            using var current = Process.GetCurrentProcess();
            candidates.Add(current.MainModule?.FileName);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception or NotSupportedException)
        {
        }
        candidates.Add(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH"));
        var root = Environment.GetEnvironmentVariable("DOTNET_ROOT");
        if (!string.IsNullOrEmpty(root)) candidates.Add(Path.Combine(root, executable));
        var path = Environment.GetEnvironmentVariable("PATH") ?? string.Empty;
        candidates.AddRange(path.Split(Path.PathSeparator).Where(p => p.Length > 0).Select(p => Path.Combine(p, executable)));
        return candidates.FirstOrDefault(c =>
            !string.IsNullOrEmpty(c)
            && string.Equals(Path.GetFileName(c), executable, StringComparison.OrdinalIgnoreCase)
            && File.Exists(c));
    }
}
