using System.Security.Cryptography;
using QKDLite.Core.Keys;

namespace QKDLite.Core.Sources;

/// <summary>The operating system's cryptographic RNG. Classical, and always recorded as such.</summary>
public sealed class SystemRandomSource : IKeyMaterialSource
{
    private static readonly RandomNumberGenerator Rng = RandomNumberGenerator.Create();

    /// <inheritdoc />
    public KeySource Kind => KeySource.Classical;

    /// <inheritdoc />
    public void Fill(byte[] buffer) => Rng.GetBytes(buffer);
}
