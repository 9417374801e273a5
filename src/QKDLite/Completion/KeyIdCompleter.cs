using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using QKDLite.Core.Errors;
using QKDLite.Session;

namespace QKDLite.Completion;

/// <summary>Completes keyIDs from the connected key store (never connects or prompts by itself).</summary>
public sealed class KeyIdCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var store = KeyStoreSession.Current;
        if (store is null) return Array.Empty<CompletionResult>();
        try
        {
            return Completions.Matching(store.CountByKeyId().Keys, wordToComplete);
        }
        catch (QKDLiteException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
