using AgingPipeline.Contracts;

namespace AgingPipeline.Cli.Offline;

/// <summary>Gives every input a stem for its output names, unique within its folder and format.</summary>
/// <remarks>Outputs are named like the pipeline's (<see cref="BlobNames.AgedFileName"/>: the file name reduced to safe
/// characters), so two inputs can reduce to the same stem ("a b.png" and "a_b.png", or "x.png" and "x.PNG"). The
/// first in ordinal order keeps the stem; later ones get "-2", "-3", … Inputs are always taken in the same order, so
/// a second run assigns the same names and finds its earlier outputs.</remarks>
internal sealed class OutputNames
{
    private const int MaxStemLength = 80;

    private readonly HashSet<string> _taken = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Reserves a name assigned earlier (e.g. recorded in a batch state file).</summary>
    public void Reserve(string directory, string stem, string extension) => _taken.Add(Key(directory, stem, extension));

    /// <summary>Assigns the stem for a file named <paramref name="fileName"/> in <paramref name="directory"/> whose
    /// outputs have <paramref name="extension"/>.</summary>
    public string Assign(string directory, string fileName, string extension)
    {
        var stem = BlobNames.SafeStem(fileName);
        if (_taken.Add(Key(directory, stem, extension)))
        {
            return stem;
        }
        for (var n = 2; ; n++)
        {
            var suffix = "-" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
            var candidate = (stem.Length + suffix.Length > MaxStemLength ? stem[..(MaxStemLength - suffix.Length)] : stem) + suffix;
            if (_taken.Add(Key(directory, candidate, extension)))
            {
                return candidate;
            }
        }
    }

    private static string Key(string directory, string stem, string extension) => $"{directory}/{stem}.{extension}";
}
