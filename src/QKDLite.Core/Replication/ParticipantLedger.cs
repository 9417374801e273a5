using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.Data.Sqlite;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Replication;

/// <summary>
/// A node's own durable record of the replication transactions it takes part in (SQLite in the node's
/// data directory): which are prepared and which are decided, and the labels that replication deleted
/// (tombstones). It is what lets a node refuse a delayed or replayed prepare for a transaction that is
/// already decided, the opposite decision for a decided one, and a key under a deleted label.
/// It holds labels and ids only, never key material.
/// </summary>
public sealed class ParticipantLedger : IDisposable
{
    private const string Schema = @"
CREATE TABLE IF NOT EXISTS transactions (
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    operation TEXT NOT NULL,
    phase TEXT NOT NULL,
    labels TEXT NOT NULL,
    updated TEXT NOT NULL,
    PRIMARY KEY (token, id));
CREATE TABLE IF NOT EXISTS tombstones (
    token TEXT NOT NULL,
    label TEXT NOT NULL,
    transaction_id TEXT NOT NULL,
    deleted TEXT NOT NULL,
    PRIMARY KEY (token, label));";

    private readonly SqliteConnection _connection;
    private readonly object _gate = new();

    private ParticipantLedger(string path, SqliteConnection connection)
    {
        Path = path;
        _connection = connection;
    }

    /// <summary>The SQLite file.</summary>
    public string Path { get; }

    /// <summary>Where a node keeps its participant record: replication/participant.db in its data directory.</summary>
    public static string DefaultPath(string dataDirectory) => System.IO.Path.Combine(dataDirectory, "replication", "participant.db");

    /// <summary>Opens (creating if needed) the record at <paramref name="path"/>.</summary>
    public static ParticipantLedger Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        return new ParticipantLedger(full, SqliteFile.Open(full, Schema));
    }

    /// <summary>One transaction as recorded here.</summary>
    internal sealed class Record
    {
        public Record(string id, ReplicationOperation operation, TransactionPhase phase, IReadOnlyList<string> labels, DateTimeOffset updated)
        {
            Id = id;
            Operation = operation;
            Phase = phase;
            Labels = labels;
            Updated = updated;
        }

        public string Id { get; }
        public ReplicationOperation Operation { get; }
        public TransactionPhase Phase { get; }
        public IReadOnlyList<string> Labels { get; }
        public DateTimeOffset Updated { get; }
        public bool IsDecided => Phase is TransactionPhase.Committed or TransactionPhase.Aborted;
    }

    internal Record? Get(string token, string transactionId) =>
        Run("read", () => Read(token, transactionId, null));

    internal IReadOnlyList<Record> List(string token) => Run("read", () =>
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT id, operation, phase, labels, updated FROM transactions WHERE token = $token ORDER BY updated, id";
        command.Parameters.AddWithValue("$token", token);
        using var reader = command.ExecuteReader();
        var result = new List<Record>();
        while (reader.Read()) result.Add(ToRecord(reader));
        return (IReadOnlyList<Record>)result;
    });

    /// <summary>
    /// Records (or extends, for a repeated prepare) a prepared transaction and returns whether it is
    /// new. Refuses a decided transaction, one recorded for another operation, and deleted labels.
    /// </summary>
    internal bool RecordPrepared(string token, string transactionId, ReplicationOperation operation, IReadOnlyList<string> labels) => Run("write", () =>
    {
        using var transaction = _connection.BeginTransaction(deferred: false);
        var existing = Read(token, transactionId, transaction);
        if (existing is not null)
        {
            if (existing.IsDecided) throw AlreadyDecided(transactionId, existing.Phase, "a prepare for it is refused");
            if (existing.Operation != operation) throw OperationMismatch(transactionId, existing.Operation, operation);
        }
        if (operation != ReplicationOperation.Delete)
        {
            var deleted = Deleted(token, labels, transaction);
            if (deleted.Count > 0)
                throw new QKDLiteException(ErrorIds.KeyLabelDeleted, QKDLiteErrorCategory.InvalidOperation,
                    $"Key label '{deleted[0]}' was deleted on this node by replication; a deleted key is never stored again. Nothing was prepared.", deleted[0]);
        }
        var all = existing is null ? labels.ToList() : existing.Labels.Union(labels, StringComparer.Ordinal).ToList();
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = @"INSERT INTO transactions (token, id, operation, phase, labels, updated) VALUES ($token, $id, $operation, $phase, $labels, $updated)
ON CONFLICT (token, id) DO UPDATE SET labels = excluded.labels, updated = excluded.updated";
        command.Parameters.AddWithValue("$token", token);
        command.Parameters.AddWithValue("$id", transactionId);
        command.Parameters.AddWithValue("$operation", operation.ToString());
        command.Parameters.AddWithValue("$phase", TransactionPhase.Prepared.ToString());
        command.Parameters.AddWithValue("$labels", string.Join("\n", all));
        command.Parameters.AddWithValue("$updated", SqliteFile.Now());
        command.ExecuteNonQuery();
        transaction.Commit();
        return existing is null;
    });

    /// <summary>
    /// Records the decision (Committed or Aborted) durably, with the tombstones of a committed delete,
    /// and returns the record. The same decision again is a no-op; the opposite one is refused. A
    /// transaction never prepared here may be aborted (so that a late prepare is refused), not committed.
    /// </summary>
    internal Record RecordDecision(string token, string transactionId, TransactionPhase decision) => Run("write", () =>
    {
        if (decision is not (TransactionPhase.Committed or TransactionPhase.Aborted)) throw new ArgumentOutOfRangeException(nameof(decision));
        using var transaction = _connection.BeginTransaction(deferred: false);
        var existing = Read(token, transactionId, transaction);
        if (existing is not null && existing.IsDecided)
        {
            if (existing.Phase != decision) throw AlreadyDecided(transactionId, existing.Phase, $"it cannot be {(decision == TransactionPhase.Committed ? "committed" : "aborted")} now");
            return existing;
        }
        if (existing is null && decision == TransactionPhase.Committed)
            throw new QKDLiteException(ErrorIds.TransactionNotFound, QKDLiteErrorCategory.ObjectNotFound,
                $"Transaction '{transactionId}' was never prepared on this node, so it cannot be committed here. Nothing was changed.", transactionId);
        var now = SqliteFile.Now();
        using (var command = _connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = @"INSERT INTO transactions (token, id, operation, phase, labels, updated) VALUES ($token, $id, $operation, $phase, '', $updated)
ON CONFLICT (token, id) DO UPDATE SET phase = excluded.phase, updated = excluded.updated";
            command.Parameters.AddWithValue("$token", token);
            command.Parameters.AddWithValue("$id", transactionId);
            // An abort of a transaction never prepared here records no operation; Delete is the harmless placeholder.
            command.Parameters.AddWithValue("$operation", (existing?.Operation ?? ReplicationOperation.Delete).ToString());
            command.Parameters.AddWithValue("$phase", decision.ToString());
            command.Parameters.AddWithValue("$updated", now);
            command.ExecuteNonQuery();
        }
        if (existing is { Operation: ReplicationOperation.Delete } && decision == TransactionPhase.Committed)
        {
            foreach (var label in existing.Labels)
            {
                using var tombstone = _connection.CreateCommand();
                tombstone.Transaction = transaction;
                tombstone.CommandText = "INSERT OR IGNORE INTO tombstones (token, label, transaction_id, deleted) VALUES ($token, $label, $id, $deleted)";
                tombstone.Parameters.AddWithValue("$token", token);
                tombstone.Parameters.AddWithValue("$label", label);
                tombstone.Parameters.AddWithValue("$id", transactionId);
                tombstone.Parameters.AddWithValue("$deleted", now);
                tombstone.ExecuteNonQuery();
            }
        }
        transaction.Commit();
        return Read(token, transactionId, null)!;
    });

    /// <summary>Those of <paramref name="labels"/> that replication deleted from this token.</summary>
    internal IReadOnlyList<string> Deleted(string token, IEnumerable<string> labels) => Run("read", () => Deleted(token, labels, null));

    private IReadOnlyList<string> Deleted(string token, IEnumerable<string> labels, SqliteTransaction? transaction)
    {
        var result = new List<string>();
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT 1 FROM tombstones WHERE token = $token AND label = $label";
        var tokenParameter = command.Parameters.AddWithValue("$token", token);
        var labelParameter = command.Parameters.Add("$label", SqliteType.Text);
        foreach (var label in labels)
        {
            labelParameter.Value = label;
            if (command.ExecuteScalar() is not null) result.Add(label);
        }
        return result;
    }

    private Record? Read(string token, string transactionId, SqliteTransaction? transaction)
    {
        using var command = _connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, operation, phase, labels, updated FROM transactions WHERE token = $token AND id = $id";
        command.Parameters.AddWithValue("$token", token);
        command.Parameters.AddWithValue("$id", transactionId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? ToRecord(reader) : null;
    }

    private static Record ToRecord(SqliteDataReader reader)
    {
        var labels = reader.GetString(3);
        return new Record(reader.GetString(0),
            (ReplicationOperation)Enum.Parse(typeof(ReplicationOperation), reader.GetString(1)),
            (TransactionPhase)Enum.Parse(typeof(TransactionPhase), reader.GetString(2)),
            labels.Length == 0 ? Array.Empty<string>() : labels.Split('\n'),
            DateTimeOffset.Parse(reader.GetString(4), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal));
    }

    private T Run<T>(string action, Func<T> step)
    {
        lock (_gate)
        {
            try
            {
                return step();
            }
            catch (Exception e) when (e is SqliteException or IOException or InvalidOperationException or FormatException or ArgumentException)
            {
                throw SqliteFile.Failed(action, Path, e);
            }
        }
    }

    internal static QKDLiteException AlreadyDecided(string transactionId, TransactionPhase phase, string consequence) =>
        new(ErrorIds.TransactionAlreadyDecided, QKDLiteErrorCategory.InvalidOperation,
            $"Transaction '{transactionId}' is already {phase.ToString().ToLowerInvariant()} on this node; {consequence}. Nothing was changed.", transactionId);

    private static QKDLiteException OperationMismatch(string transactionId, ReplicationOperation recorded, ReplicationOperation asked) =>
        new(ErrorIds.TransactionOperationMismatch, QKDLiteErrorCategory.InvalidOperation,
            $"Transaction '{transactionId}' is recorded on this node as {recorded}, not {asked}. Nothing was changed.", transactionId);

    /// <inheritdoc />
    public void Dispose()
    {
        lock (_gate) _connection.Dispose();
    }
}
