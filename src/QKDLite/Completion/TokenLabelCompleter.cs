using System.Collections;
using System.Collections.Generic;
using System.Management.Automation;
using System.Management.Automation.Language;
using QKDLite.Session;

namespace QKDLite.Completion;

/// <summary>Completes the token labels of the key stores connected in this session.</summary>
public sealed class TokenLabelCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete, CommandAst commandAst, IDictionary fakeBoundParameters) =>
        Completions.Matching(KeyStoreSession.ConnectedLabels, wordToComplete);
}
