using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.Data.Sqlite;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Replication;

/// <summary>
/// The main node's durable journal of replication transactions (SQLite in the node's data
/// directory). The coordinator writes each step here before it takes it: the transaction with its
/// labels and nodes before any key is made, each node's confirmed phase, and the decision before any
/// node hears it. After a crash, recovery reads the unfinished transactions and finishes (decided
/// Committed) or aborts (anything else) each. Decisions never change once written; a node's phase
/// only moves forward. Labels, ids and node names only: never key material.
/// </summary>
public sealed class ReplicationJournal : IDisposable
{
    /// <summary>The node name the journal uses for the main node's own key store.</summary>
    public const string LocalNode = "local";

    private const string Schema = @"
CREATE TABLE IF NOT EXISTS transactions (
    id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    token TEXT NOT NULL,
    key_id TEXT,
    labels TEXT NOT NULL,
    decision TEXT,
    finished INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS participants (
    transaction_id TEXT NOT NULL REFERENCES transactions (id),
    node TEXT NOT NULL,
    position INTEGER NOT NULL,
    phase TEXT NOT NULL,
    error TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (transaction_id, node));
CREATE INDEX IF NOT EXISTS transactions_unfinished ON transactions (finished, created);";

    private readonly SqliteConnection _connection;
    private readonly object _gate = new();

    private ReplicationJournal(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    /// <summary>The SQLite file.</summary>
    public string Path { get; }

    /// <summary>Where the main node keeps its journal: replication/journal.db in its data directory.</summary>
    public static string DefaultPath(string dataDirectory) => System.IO.Path.Combine(dataDirectory, "replication", "journal.db");

    /// <summary>Opens (creating if needed) the journal at <paramref name="path"/>.</summary>
    public static ReplicationJournal Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return new ReplicationJournal(full, SqliteFile.Open(full, Schema));
    }

    /// <summary>
    /// Journals a new transaction: its operation, keys and nodes, every node Started. Written before
    /// any key is made or changed anywhere. An id already journalled is refused.
    /// </summary>
    public JournalEntry Begin(string transactionId, ReplicationOperation operation, string tokenLabel, string? keyId, IReadOnlyList<string> labels, IReadOnlyList<string> nodes)
    {
        TransactionIds.Check(transactionId);
        // A create of QKD keys learns its labels (the KME's key_IDs) only from the KME: AddLabels journals them before any other node hears of them.
        if (labels is null || (labels.Count == 0 && operation != ReplicationOperation.Create)) throw new ArgumentException("A transaction concerns at least one key.", nameof(labels));
        if (nodes is null || nodes.Count == 0 || nodes.Distinct(StringComparer.Ordinal).Count() != nodes.Count)
            throw new ArgumentException("A transaction names each of its nodes once.", nameof(nodes));
        return Run("write", () =>
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            if (ReadEntry(transactionId, transaction) is not null)
                throw new QKDLiteException(ErrorIds.TransactionExists, QKDLiteErrorCategory.ResourceExists,
                    $"Transaction '{transactionId}' is already in the replication journal; a transaction id is used once.", transactionId);
            var now = SqliteFile.Now();
            using (var command = Command(transaction, @"INSERT INTO transactions (id, operation, token, key_id, labels, created, updated)
VALUES ($id, $operation, $token, $keyId, $labels, $now, $now)"))
            {
                command.Parameters.AddWithValue("$id", transactionId);
                command.Parameters.AddWithValue("$operation", operation.ToString());
                command.Parameters.AddWithValue("$token", tokenLabel);
                command.Parameters.AddWithValue("$keyId", (object?)keyId ?? DBNull.Value);
                command.Parameters.AddWithValue("$labels", string.Join("\n", labels));
                command.Parameters.AddWithValue("$now", now);
                command.ExecuteNonQuery();
            }
            for (var i = 0; i < nodes.Count; i++)
            {
                using var command = Command(transaction, @"INSERT INTO participants (transaction_id, node, position, phase, updated)
VALUES ($id, $node, $position, $phase, $now)");
                command.Parameters.AddWithValue("$id", transactionId);
                command.Parameters.AddWithValue("$node", nodes[i]);
                command.Parameters.AddWithValue("$position", i);
                command.Parameters.AddWithValue("$phase", TransactionPhase.Started.ToString());
                command.Parameters.AddWithValue("$now", now);
                command.ExecuteNonQuery();
            }
            transaction.Commit();
            return ReadEntry(transactionId, null)!;
        });
    }

    /// <summary>
    /// Adds labels to an undecided transaction (the key_IDs a KME gave this node for a create), before
    /// any other node is asked to prepare them. Labels already journalled are kept once.
    /// </summary>
    public JournalEntry AddLabels(string transactionId, IReadOnlyList<string> labels) => Run("write", () =>
    {
        using var transaction = _connection.BeginTransaction(deferred: false);
        var entry = ReadEntry(transactionId, transaction) ?? throw NotFound(transactionId);
        if (entry.Decision is not null)
            throw new QKDLiteException(ErrorIds.TransactionStateInvalid, QKDLiteErrorCategory.InvalidOperation,
                $"Transaction '{transactionId}' is decided; its keys cannot change.", transactionId);
        var all = entry.Labels.Union(labels, StringComparer.Ordinal).ToList();
        var now = SqliteFile.Now();
        using (var command = Command(transaction, "UPDATE transactions SET labels = $labels, updated = $now WHERE id = $id"))
        {
            command.Parameters.AddWithValue("$labels", string.Join("\n", all));
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$id", transactionId);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
        return ReadEntry(transactionId, null)!;
    });

    /// <summary>
    /// Journals the phase a node confirmed (with the error it answered, if any). Phases move forward
    /// only, and Committed or Aborted only after that decision is journalled.
    /// </summary>
    public JournalEntry SetPhase(string transactionId, string node, TransactionPhase phase, string? error = null) => Run("write", () =>
    {
        using var transaction = _connection.BeginTransaction(deferred: false);
        var entry = ReadEntry(transactionId, transaction) ?? throw NotFound(transactionId);
        var participant = entry.Participants.FirstOrDefault(p => p.Node == node)
            ?? throw new ArgumentException($"Node '{node}' is not part of transaction '{transactionId}'.", nameof(node));
        if (!CanMove(participant.Phase, phase))
            throw new QKDLiteException(ErrorIds.TransactionStateInvalid, QKDLiteErrorCategory.InvalidOperation,
                $"Node '{node}' is {participant.Phase} in transaction '{transactionId}'; it cannot become {phase}.", transactionId);
        if (phase is TransactionPhase.Committed or TransactionPhase.Aborted && entry.Decision != phase)
            throw new QKDLiteException(ErrorIds.TransactionStateInvalid, QKDLiteErrorCategory.InvalidOperation,
                $"Transaction '{transactionId}' is not decided {phase}; node '{node}' cannot be {phase} in it.", transactionId);
        var now = SqliteFile.Now();
        using (var command = Command(transaction, "UPDATE participants SET phase = $phase, error = $error, updated = $now WHERE transaction_id = $id AND node = $node"))
        {
            command.Parameters.AddWithValue("$phase", phase.ToString());
            command.Parameters.AddWithValue("$error", (object?)error ?? DBNull.Value);
            command.Parameters.AddWithValue("$now", now);
            command.Parameters.AddWithValue("$id", transactionId);
            command.Parameters.AddWithValue("$node", node);
            command.ExecuteNonQuery();
        }
        Touch(transaction, transactionId, now);
        transaction.Commit();
        return ReadEntry(transactionId, null)!;
    });

    /// <summary>
    /// Journals the decision and returns the entry. The same decision again changes nothing; the
    /// opposite one is refused (TransactionAlreadyDecided); Committed needs every node Prepared.
    /// </summary>
    public JournalEntry Decide(string transactionId, TransactionPhase decision)
    {
        if (decision is not (TransactionPhase.Committed or TransactionPhase.Aborted)) throw new ArgumentOutOfRangeException(nameof(decision));
        return Run("write", () =>
        {
            using var transaction = _connection.BeginTransaction(deferred: false);
            var entry = ReadEntry(transactionId, transaction) ?? throw NotFound(transactionId);
            if (entry.Decision is { } decided)
            {
                if (decided != decision)
                    throw ParticipantLedger.AlreadyDecided(transactionId, decided, $"it cannot be {(decision == TransactionPhase.Committed ? "committed" : "aborted")} now");
                return entry;
            }
            if (decision == TransactionPhase.Committed && !entry.All(TransactionPhase.Prepared))
                throw new QKDLiteException(ErrorIds.TransactionStateInvalid, QKDLiteErrorCategory.InvalidOperation,
                    $"Transaction '{transactionId}' cannot be committed: not every node has prepared it.", transactionId);
            var now = SqliteFile.Now();
            using (var command = Command(transaction, "UPDATE transactions SET decision = $decision, updated = $now WHERE id = $id"))
            {
                command.Parameters.AddWithValue("$decision", decision.ToString());
                command.Parameters.AddWithValue("$now", now);
                command.Parameters.AddWithValue("$id", transactionId);
                command.ExecuteNonQuery();
            }
            transaction.Commit();
            return ReadEntry(transactionId, null)!;
        });
    }

    /// <summary>Marks a decided transaction finished once every node has carried out the decision.</summary>
    public JournalEntry Finish(string transactionId) => Run("write", () =>
    {
        using var transaction = _connection.BeginTransaction(deferred: false);
        var entry = ReadEntry(transactionId, transaction) ?? throw NotFound(transactionId);
        if (entry.Decision is not { } decision || !entry.All(decision))
            throw new QKDLiteException(ErrorIds.TransactionStateInvalid, QKDLiteErrorCategory.InvalidOperation,
                $"Transaction '{transactionId}' is not finished: not every node has carried out a decision.", transactionId);
        using (var command = Command(transaction, "UPDATE transactions SET finished = 1, updated = $now WHERE id = $id"))
        {
            command.Parameters.AddWithValue("$now", SqliteFile.Now());
            command.Parameters.AddWithValue("$id", transactionId);
            command.ExecuteNonQuery();
        }
        transaction.Commit();
        return ReadEntry(transactionId, null)!;
    });

    /// <summary>The journalled transaction, or null.</summary>
    public JournalEntry? Get(string transactionId) => Run("read", () => ReadEntry(transactionId, null));

    /// <summary>Transactions that some node has not finished yet, oldest first: what recovery works on.</summary>
    public IReadOnlyList<JournalEntry> Unfinished() => Run("read", () => Ids("SELECT id FROM transactions WHERE finished = 0 ORDER BY created, id"));

    /// <summary>Every journalled transaction, oldest first.</summary>
    public IReadOnlyList<JournalEntry> All() => Run("read", () => Ids("SELECT id FROM transactions ORDER BY created, id"));

    private IReadOnlyList<JournalEntry> Ids(string sql)
    {
        var ids = new List<string>();
        using (var command = Command(null, sql))
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read()) ids.Add(reader.GetString(0));
        }
        return ids.Select(id => ReadEntry(id, null)!).ToList();
    }

    private static bool CanMove(TransactionPhase from, TransactionPhase to) =>
        from == to || from switch
        {
            TransactionPhase.Started => true,
            TransactionPhase.Prepared => to is TransactionPhase.Committed or TransactionPhase.Aborted,
            _ => false,
        };

    private void Touch(SqliteTransaction transaction, string transactionId, string now)
    {
        using var command = Command(transaction, "UPDATE transactions SET updated = $now WHERE id = $id");
        command.Parameters.AddWithValue("$now", now);
        command.Parameters.AddWithValue("$id", transactionId);
        command.ExecuteNonQuery();
    }

    private JournalEntry? ReadEntry(string transactionId, SqliteTransaction? transaction)
    {
        string operation, token, labels, created, updated;
        string? keyId, decision;
        bool finished;
        using (var command = Command(transaction, "SELECT operation, token, key_id, labels, decision, finished, created, updated FROM transactions WHERE id = $id"))
        {
            command.Parameters.AddWithValue("$id", transactionId);
            using var reader = command.ExecuteReader();
            if (!reader.Read()) return null;
            operation = reader.GetString(0);
            token = reader.GetString(1);
            keyId = reader.IsDBNull(2) ? null : reader.GetString(2);
            labels = reader.GetString(3);
            decision = reader.IsDBNull(4) ? null : reader.GetString(4);
            finished = reader.GetInt64(5) != 0;
            created = reader.GetString(6);
            updated = reader.GetString(7);
        }
        var participants = new List<JournalParticipant>();
        using (var command = Command(transaction, "SELECT node, phase, error, updated FROM participants WHERE transaction_id = $id ORDER BY position"))
        {
            command.Parameters.AddWithValue("$id", transactionId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
                participants.Add(new JournalParticipant(reader.GetString(0), ParsePhase(reader.GetString(1)), reader.IsDBNull(2) ? null : reader.GetString(2), Time(reader.GetString(3))));
        }
        return new JournalEntry(transactionId, (ReplicationOperation)Enum.Parse(typeof(ReplicationOperation), operation), token, keyId,
            labels.Length == 0 ? Array.Empty<string>() : labels.Split('\n'), decision is null ? null : ParsePhase(decision), finished, Time(created), Time(updated), participants);
    }

    private static TransactionPhase ParsePhase(string text) => (TransactionPhase)Enum.Parse(typeof(TransactionPhase), text);

    private static DateTimeOffset Time(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);

    private SqliteCommand Command(SqliteTransaction? transaction, string sql)
    {
        var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    private T Run<T>(string action, Func<T> step)
    {
        lock (_gate)
        {
            try
            {
                return step();
            }
            catch (Exception e) when (e is SqliteException or IOException or FormatException)
            {
                throw SqliteFile.Failed(action, Path, e);
            }
        }
    }

    private static QKDLiteException NotFound(string transactionId) =>
        new(ErrorIds.TransactionNotFound, QKDLiteErrorCategory.ObjectNotFound, $"Transaction '{transactionId}' is not in the replication journal.", transactionId);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
