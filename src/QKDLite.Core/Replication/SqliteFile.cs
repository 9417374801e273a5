using System;
using System.IO;
using Microsoft.Data.Sqlite;
using QKDLite.Core.Configuration;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Replication;

/// <summary>
/// Opens the node's SQLite files for replication: owner-only, write-ahead log with full fsync, so a
/// record that a write returned from survives a crash of the process or the machine.
/// </summary>
internal static class SqliteFile
{
    public static SqliteConnection Open(string path, string schema)
    {
        SqliteNative.Apply();
        var full = Path.GetFullPath(path);
        try
        {
            var directory = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(directory))
            {
                Directory.CreateDirectory(directory);
                OwnerOnlyPermissions.SetOwnerOnlyDirectory(directory);
            }
            var existed = File.Exists(full);
            var builder = new SqliteConnectionStringBuilder { DataSource = full, Mode = SqliteOpenMode.ReadWriteCreate, Pooling = false };
            var connection = new SqliteConnection(builder.ToString());
            try
            {
                connection.Open();
                if (!existed) OwnerOnlyPermissions.SetOwnerOnlyFile(full);
                // The busy timeout first: switching to WAL and creating the schema take a write lock
                // that another process opening the same file at the same moment may hold.
                Execute(connection, "PRAGMA busy_timeout=10000;");
                Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;");
                Execute(connection, schema);
                return connection;
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is SqliteException or IOException or UnauthorizedAccessException)
        {
            throw Failed("open", full, e);
        }
    }

    public static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public static QKDLiteException Failed(string action, string path, Exception inner) =>
        new(ErrorIds.ReplicationStoreFailed, QKDLiteErrorCategory.WriteError,
            $"Could not {action} the replication database '{path}': {inner.Message}", path, inner);

    public static string Now() => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss.ffffffZ", System.Globalization.CultureInfo.InvariantCulture);
}
