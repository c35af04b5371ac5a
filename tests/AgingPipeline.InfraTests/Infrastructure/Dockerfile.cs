using System.Text;
using System.Text.Json;

namespace AgingPipeline.InfraTests.Infrastructure;

/// <summary>One instruction of a Dockerfile: the keyword and its arguments, continuation lines joined.</summary>
public sealed record DockerInstruction(string Keyword, string Arguments, int Line);

/// <summary>A COPY or ADD: its flags, sources and destination.</summary>
public sealed record DockerCopy(IReadOnlyDictionary<string, string> Flags, IReadOnlyList<string> Sources, string Destination, int Line)
{
    /// <summary>True when the sources come from the build context (not from another stage or image).</summary>
    public bool FromContext => !Flags.ContainsKey("from");
}

/// <summary>A small Dockerfile reader: enough to check what a Dockerfile takes from the build context.</summary>
public sealed class Dockerfile
{
    private Dockerfile(string path, IReadOnlyList<DockerInstruction> instructions)
    {
        Path = path;
        Instructions = instructions;
    }

    public string Path { get; }

    public IReadOnlyList<DockerInstruction> Instructions { get; }

    /// <summary>Every COPY and ADD.</summary>
    public IEnumerable<DockerCopy> Copies => Instructions
        .Where(i => i.Keyword is "COPY" or "ADD")
        .Select(ParseCopy);

    /// <summary>The text after every RUN, joined.</summary>
    public string RunText => string.Join('\n', Instructions.Where(i => i.Keyword == "RUN").Select(i => i.Arguments));

    public static Dockerfile Load(string path)
    {
        var instructions = new List<DockerInstruction>();
        var current = new StringBuilder();
        var startLine = 0;
        var lines = File.ReadAllLines(path);
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i].TrimEnd();
            if (current.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }
            if (current.Length > 0 && line.TrimStart().StartsWith('#'))
            {
                continue; // comment lines inside a continued instruction are dropped by Docker too
            }
            if (current.Length == 0)
            {
                startLine = i + 1;
            }
            if (line.EndsWith('\\'))
            {
                current.Append(line[..^1]).Append(' ');
                continue;
            }
            current.Append(line);
            var text = current.ToString().Trim();
            current.Clear();
            var space = text.IndexOfAny([' ', '\t']);
            instructions.Add(space < 0
                ? new DockerInstruction(text.ToUpperInvariant(), string.Empty, startLine)
                : new DockerInstruction(text[..space].ToUpperInvariant(), text[(space + 1)..].Trim(), startLine));
        }
        return new Dockerfile(path, instructions);
    }

    private static DockerCopy ParseCopy(DockerInstruction instruction)
    {
        var flags = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = instruction.Arguments;
        while (rest.StartsWith("--", StringComparison.Ordinal))
        {
            var end = rest.IndexOf(' ');
            var flag = end < 0 ? rest : rest[..end];
            var eq = flag.IndexOf('=');
            flags[eq < 0 ? flag[2..] : flag[2..eq]] = eq < 0 ? string.Empty : flag[(eq + 1)..];
            rest = end < 0 ? string.Empty : rest[(end + 1)..].TrimStart();
        }
        var parts = rest.StartsWith('[')
            ? JsonSerializer.Deserialize<string[]>(rest)!
            : rest.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return new DockerCopy(flags, parts[..^1], parts[^1], instruction.Line);
    }
}
