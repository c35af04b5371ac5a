namespace AgingPipeline.Storage;

/// <summary>Settings of the model sync (the <c>models</c> container → the runner's local model root), bound from the
/// <c>ModelSync</c> configuration section.</summary>
/// <remarks>Off unless <see cref="Enabled"/> is set: locally the model repository is the <c>models/</c> folder of the
/// checkout; in Azure the runner's image ships the models it was built with and the sync adds every version
/// published to the container after that, without a restart.</remarks>
public sealed class ModelSyncOptions
{
    /// <summary>The configuration section these options bind from.</summary>
    public const string SectionName = "ModelSync";

    /// <summary>Name of the hidden folder under the model root that holds downloads in progress and the sync's
    /// records. The model repository skips folders whose names start with a dot.</summary>
    public const string WorkFolderName = ".sync";

    /// <summary>Compare the container with the local model root periodically (default false).</summary>
    public bool Enabled { get; set; }

    /// <summary>Time between two comparisons (default 1 minute).</summary>
    /// <remarks>One comparison is one listing of the container, a few hundred bytes per model file: cheap enough to
    /// run every minute on every replica.</remarks>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Longest wait for the first comparison at start-up, before the model repository's first scan
    /// (default 3 minutes). When it runs out the runner starts with the models it has, and the next comparison
    /// catches up.</summary>
    public TimeSpan InitialSyncTimeout { get; set; } = TimeSpan.FromMinutes(3);

    /// <summary>Delete a synced version once it is removed from the container (default true). Versions the sync did not
    /// download (those shipped in the image) are never deleted.</summary>
    public bool DeleteRemoved { get; set; } = true;

    /// <summary>Largest total size of one version's files (default 4 GiB); a bigger version is refused, not
    /// downloaded, so that a mistaken upload cannot fill the replica's disk.</summary>
    public long MaxVersionBytes { get; set; } = 4L * 1024 * 1024 * 1024;

    /// <summary>Returns every problem of these options; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (Interval < TimeSpan.FromSeconds(1) || Interval > TimeSpan.FromDays(1))
        {
            problems.Add($"{SectionName}:{nameof(Interval)} must be between 1 second and 1 day.");
        }
        if (InitialSyncTimeout < TimeSpan.Zero || InitialSyncTimeout > TimeSpan.FromHours(1))
        {
            problems.Add($"{SectionName}:{nameof(InitialSyncTimeout)} must be between 0 and 1 hour.");
        }
        if (MaxVersionBytes < 1)
        {
            problems.Add($"{SectionName}:{nameof(MaxVersionBytes)} must be positive.");
        }
        return problems;
    }
}
