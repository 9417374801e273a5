using System.Collections.Generic;
using System.Text;

namespace QKDLite.Core.ServerControl;

/// <summary>
/// Joins arguments into one ProcessStartInfo.Arguments string that the child splits back into the
/// same arguments. netstandard2.0 has no ProcessStartInfo.ArgumentList, so this follows the rules
/// .NET itself uses to paste and split arguments (Microsoft C runtime rules, also on Unix).
/// </summary>
public static class CommandLineQuoting
{
    /// <summary>
    /// The arguments as one string. <paramref name="quoteAll"/> quotes every argument, so that a
    /// Windows command interpreter in between reads characters such as &amp; or &gt; literally.
    /// </summary>
    public static string Join(IEnumerable<string> arguments, bool quoteAll = false)
    {
        var builder = new StringBuilder();
        foreach (var argument in arguments)
        {
            if (builder.Length > 0) builder.Append(' ');
            Append(builder, argument, quoteAll);
        }
        return builder.ToString();
    }

    private static void Append(StringBuilder builder, string argument, bool quote)
    {
        if (!quote && argument.Length != 0 && !NeedsQuotes(argument))
        {
            builder.Append(argument);
            return;
        }
        builder.Append('"');
        var i = 0;
        while (i < argument.Length)
        {
            var c = argument[i++];
            if (c == '\\')
            {
                var backslashes = 1;
                while (i < argument.Length && argument[i] == '\\')
                {
                    i++;
                    backslashes++;
                }
                if (i == argument.Length)
                    builder.Append('\\', backslashes * 2); // before the closing quote: all doubled
                else if (argument[i] == '"')
                {
                    builder.Append('\\', backslashes * 2 + 1).Append('"'); // before a quote: doubled, plus one for the quote
                    i++;
                }
                else
                    builder.Append('\\', backslashes); // elsewhere backslashes are literal
            }
            else if (c == '"')
                builder.Append('\\').Append('"');
            else
                builder.Append(c);
        }
        builder.Append('"');
    }

    private static bool NeedsQuotes(string argument)
    {
        foreach (var c in argument)
            if (char.IsWhiteSpace(c) || c == '"') return true;
        return false;
    }
}
