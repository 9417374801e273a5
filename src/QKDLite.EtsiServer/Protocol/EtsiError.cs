using System;
using System.Collections.Generic;
using System.Globalization;

namespace QKDLite.EtsiServer.Protocol;

/// <summary>
/// An error answer: HTTP status, the ETSI <c>message</c>, and optional <c>details</c> (name, number)
/// naming a limit. Never carries key bytes: messages are our own texts.
/// </summary>
internal sealed record EtsiError(int Status, string Message, IReadOnlyList<KeyValuePair<string, int>>? Details = null)
{
    /// <summary>A 400 answer with <paramref name="message"/>.</summary>
    public static EtsiError BadRequest(string message, params (string Name, int Value)[] details) =>
        new(400, message, details.Length == 0 ? null : Array.ConvertAll(details, d => new KeyValuePair<string, int>(d.Name, d.Value)));

    /// <summary>A 400 answer with a message template filled in.</summary>
    public static EtsiError BadRequestFormat(string template, params object[] values) =>
        new(400, string.Format(CultureInfo.InvariantCulture, template, values));
}
