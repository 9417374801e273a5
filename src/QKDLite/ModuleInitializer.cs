using System.Management.Automation;
using QKDLite.Core.Pkcs11;

namespace QKDLite;

/// <summary>Runs when the module is imported: fixes native library resolution before any PKCS#11 call.</summary>
public sealed class ModuleInitializer : IModuleAssemblyInitializer
{
    /// <inheritdoc />
    public void OnImport() => NativeLibraryPatch.Apply();
}
