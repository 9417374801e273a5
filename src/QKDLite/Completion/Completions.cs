using System;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;

namespace QKDLite.Completion;

/// <summary>Turns candidate values into completion results, quoting where the shell needs it.</summary>
internal static class Completions
{
    public static IEnumerable<CompletionResult> Matching(IEnumerable<string> values, string wordToComplete)
    {
        var prefix = (wordToComplete ?? string.Empty).Trim('\'', '"');
        return values
            .Where(v => v.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            .OrderBy(v => v, StringComparer.OrdinalIgnoreCase)
            .Select(v => new CompletionResult(Quote(v), v, CompletionResultType.ParameterValue, v))
            .ToList();
    }

    private static string Quote(string value) =>
        value.IndexOfAny(new[] { ' ', '\'', '"', '$', '`', '(', ')', ';', ',', '{', '}', '@', '#' }) >= 0
            ? "'" + value.Replace("'", "''") + "'"
            : value;
}
