using System;
using System.Collections;
using System.Collections.Generic;
using System.Linq;
using System.Management.Automation;
using System.Management.Automation.Language;
using QKDLite.Core.Errors;
using QKDLite.Session;

namespace QKDLite.Completion;

/// <summary>Completes key labels from the connected key store, narrowed by -KeyId when given.</summary>
public sealed class KeyLabelCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var store = KeyStoreSession.Current;
        if (store is null) return Array.Empty<CompletionResult>();
        var keyId = fakeBoundParameters?["KeyId"] as string;
        try
        {
            return Completions.Matching(store.List(keyId).Select(k => k.Label), wordToComplete);
        }
        catch (QKDLiteException)
        {
            return Array.Empty<CompletionResult>();
        }
    }
}
