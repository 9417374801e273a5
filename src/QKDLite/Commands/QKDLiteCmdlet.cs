using System;
using System.Management.Automation;
using QKDLite.Core.Errors;
using QKDLite.Core.KeyStore;
using QKDLite.Session;

namespace QKDLite.Commands;

/// <summary>Shared plumbing of QKDLite cmdlets: the session's key store and the one error model.</summary>
public abstract class QKDLiteCmdlet : PSCmdlet
{
    /// <summary>The session's key store (or the connected one named), connecting from the node configuration if needed.</summary>
    internal IKeyStore RequireKeyStore(string? tokenLabel = null)
    {
        try
        {
            return KeyStoreSession.Require(this, tokenLabel);
        }
        catch (QKDLiteException e)
        {
            ThrowTerminatingError(ToErrorRecord(e));
            throw; // not reached: ThrowTerminatingError always throws
        }
    }

    /// <summary>Runs a precondition or whole-command step; a QKDLite error stops the command.</summary>
    internal T Terminating<T>(Func<T> step)
    {
        try
        {
            return step();
        }
        catch (QKDLiteException e)
        {
            ThrowTerminatingError(ToErrorRecord(e));
            throw;
        }
    }

    /// <summary>Runs a per-item step; a QKDLite error is written and the pipeline goes on.</summary>
    internal bool PerItem(Action step)
    {
        try
        {
            step();
            return true;
        }
        catch (QKDLiteException e)
        {
            WriteError(ToErrorRecord(e));
            return false;
        }
    }

    /// <summary>
    /// ShouldProcess for High-impact changes: -Force skips the confirmation prompt, but -WhatIf and
    /// an explicit -Confirm still win.
    /// </summary>
    internal bool ShouldProcessUnlessForced(bool force, string target, string action)
    {
        var bound = MyInvocation.BoundParameters;
        if (force && !bound.ContainsKey("Confirm") && !WhatIfRequested())
        {
            WriteVerbose($"Performing the operation \"{action}\" on target \"{target}\".");
            return true;
        }
        return ShouldProcess(target, action);
    }

    private bool WhatIfRequested()
    {
        if (MyInvocation.BoundParameters.TryGetValue("WhatIf", out var whatIf))
            return whatIf is SwitchParameter s ? s.IsPresent : whatIf is true;
        var preference = GetVariableValue("WhatIfPreference");
        return preference is SwitchParameter p ? p.IsPresent : preference is true;
    }

    /// <summary>Maps a QKDLite error to a PowerShell error record, in one place.</summary>
    internal static ErrorRecord ToErrorRecord(QKDLiteException e) =>
        new(e, e.ErrorId, (ErrorCategory)Enum.Parse(typeof(ErrorCategory), e.Category.ToString()), e.Target);
}
