using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.Completion;

/// <summary>Completes the names of the KMEs (for -Kme) or QRNGs (for -Qrng) in the node configuration.</summary>
public sealed class KeySourceNameCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var file = QKDLitePaths.DefaultConfigurationFile;
        if (!File.Exists(file)) return Array.Empty<CompletionResult>();
        try
        {
            var configuration = NodeConfiguration.Load(file);
            var names = string.Equals(parameterName, "Qrng", StringComparison.OrdinalIgnoreCase)
                ? configuration.Qrngs?.Select(q => q.Name)
                : configuration.Kmes?.Select(k => k.Name);
            return Completions.Matching(names ?? Enumerable.Empty<string>(), wordToComplete);
        }
        catch (QKDLiteException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
