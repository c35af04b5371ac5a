namespace AgingPipeline.Bench;

/// <summary>Summary statistics of timings.</summary>
internal static class Stats
{
    /// <summary>The <paramref name="p"/>-th percentile (0–100) with linear interpolation between the closest ranks
    /// (as numpy's default), so that p50 of an even count is the mean of the middle two.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var ordered = values.Order().ToArray();
        var rank = Math.Clamp(p, 0, 100) / 100 * (ordered.Length - 1);
        var lower = (int)Math.Floor(rank);
        var upper = Math.Min(lower + 1, ordered.Length - 1);
        return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower);
    }
}
