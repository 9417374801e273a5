using System;
using System.Text.RegularExpressions;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Replication;

/// <summary>
/// Names of replication transactions. A transaction id travels to every node and is stored in the
/// metadata of each key it prepares, so it is restricted to characters that need no escaping there.
/// </summary>
public static class TransactionIds
{
    private static readonly Regex Pattern = new("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant);

    /// <summary>A new transaction id: a UUID without dashes.</summary>
    public static string NewId() => Guid.NewGuid().ToString("N");

    /// <summary>Whether <paramref name="transactionId"/> is 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.</summary>
    public static bool IsValid(string? transactionId) => transactionId is not null && Pattern.IsMatch(transactionId);

    /// <summary>Throws TransactionIdInvalid unless <see cref="IsValid"/>.</summary>
    public static void Check(string? transactionId)
    {
        if (!IsValid(transactionId))
            throw new QKDLiteException(ErrorIds.TransactionIdInvalid, QKDLiteErrorCategory.InvalidArgument,
                $"Transaction id '{transactionId}' is not valid: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit.", transactionId);
    }
}
