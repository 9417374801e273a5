using System;
using Net.Pkcs11Interop.Common;
using QKDLite.Core.Errors;

namespace QKDLite.Core.Pkcs11;

/// <summary>Turns PKCS#11 return values into QKDLite errors, in one place.</summary>
internal static class Pkcs11Errors
{
    public static QKDLiteException Translate(Pkcs11Exception e, string action, object? target)
    {
        return e.RV switch
        {
            CKR.CKR_PIN_INCORRECT or CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE => new QKDLiteException(
                ErrorIds.KeyStorePinIncorrect, QKDLiteErrorCategory.AuthenticationError,
                "The key store refused the PIN. Check the PIN source; repeated failures may lock the token.", target, e),
            CKR.CKR_PIN_LOCKED => new QKDLiteException(
                ErrorIds.KeyStorePinLocked, QKDLiteErrorCategory.SecurityError,
                "The key store's user PIN is locked. The security officer must unlock it.", target, e),
            CKR.CKR_TOKEN_NOT_PRESENT or CKR.CKR_DEVICE_REMOVED or CKR.CKR_TOKEN_NOT_RECOGNIZED or CKR.CKR_SLOT_ID_INVALID
                or CKR.CKR_DEVICE_ERROR or CKR.CKR_SESSION_CLOSED => new QKDLiteException(
                ErrorIds.KeyStoreUnavailable, QKDLiteErrorCategory.ResourceUnavailable,
                $"The key store became unavailable while trying to {action} ({e.RV}).", target, e),
            _ => new QKDLiteException(
                ErrorIds.KeyStoreOperationFailed, QKDLiteErrorCategory.WriteError,
                $"The key store failed to {action} ({e.RV}).", target, e),
        };
    }

    /// <summary>Runs a PKCS#11 call, translating its failure.</summary>
    public static T Call<T>(string action, object? target, Func<T> call)
    {
        try { return call(); }
        catch (Pkcs11Exception e) { throw Translate(e, action, target); }
    }

    /// <summary>Runs a PKCS#11 call, translating its failure.</summary>
    public static void Call(string action, object? target, Action call)
    {
        try { call(); }
        catch (Pkcs11Exception e) { throw Translate(e, action, target); }
    }
}
