using System;
using System.Collections.Generic;
using QKDLite.Core.Crypto;
using QKDLite.Core.Errors;
using QKDLite.Core.TransportKeys;

namespace QKDLite.Session;

/// <summary>
/// Shows generated key components to their custodians, one at a time, on the console itself rather
/// than through the PowerShell host: host output is what transcripts and logs record, and a key
/// component must never land in one. Each component is erased from the screen once its custodian
/// has noted it. Without a real console (output redirected, remoting) nothing is shown or generated.
/// </summary>
internal static class ComponentDisplay
{
    public static void EnsureAvailable()
    {
        if (Console.IsOutputRedirected)
            throw new QKDLiteException(ErrorIds.ComponentDisplayUnavailable, QKDLiteErrorCategory.InvalidOperation,
                "Generated key components are shown only on an interactive console, never in redirected output, logs or transcripts. Run Set-TransportKey -Generate in a terminal on the node. Nothing was generated.", null);
    }

    public static void Show(IReadOnlyList<byte[]> components)
    {
        for (var i = 0; i < components.Count; i++)
        {
            var hex = KeyComponents.FormatHex(components[i]);
            try
            {
                Console.Out.Write($"Custodian {i + 1} of {components.Count}, your component: ");
                Console.Out.Write(hex);
                Console.Out.WriteLine($"   check value {KeyCheckValue.Compute(components[i], isAes: true)}");
                Console.Out.Write("Press Enter once it is noted; it is then erased from the screen.");
                Console.Out.Flush();
                Console.ReadLine();
                // Up two lines and erase them (ANSI), so the next custodian does not see it.
                Console.Out.Write("\u001b[1A\u001b[2K\u001b[1A\u001b[2K\r");
                Console.Out.Flush();
            }
            finally
            {
                Array.Clear(hex, 0, hex.Length);
            }
        }
    }
}
