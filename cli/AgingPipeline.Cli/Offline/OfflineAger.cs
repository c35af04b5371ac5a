using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.Inference;
using AgingPipeline.Processing;

namespace AgingPipeline.Cli.Offline;

/// <summary>Settings of one offline run.</summary>
/// <param name="OutputRoot">Absolute output folder; the input folder structure is mirrored below it.</param>
/// <param name="Ages">Target ages, ascending.</param>
/// <param name="Model">The ager to use.</param>
/// <param name="Jobs">Images processed at once.</param>
/// <param name="Force">Write outputs that exist already.</param>
/// <param name="ContactSheet">Write a contact sheet per input.</param>
/// <param name="Region">Which part of each picture is aged.</param>
internal sealed record OfflineSettings(
    string OutputRoot, IReadOnlyList<int> Ages, ServedModel Model, int Jobs, bool Force, bool ContactSheet, AgingRegion Region = AgingRegion.Auto);

/// <summary>Ages local files with <see cref="ImageAger"/>, the runner's own decode → batch → infer → compose path,
/// and writes the outputs next to each other in a mirrored folder tree.</summary>
/// <remarks>
/// <para>Each output is skipped when it exists (unless forced), so a run that was interrupted, or that adds an age,
/// does only the missing work; outputs are written atomically (<see cref="AtomicFile"/>), so an existing output is a
/// complete one. A contact sheet is (re)written whenever an age of its input was, from the input and every requested
/// age, reading ages made by an earlier run back from disk.</para>
/// <para>Up to <see cref="OfflineSettings.Jobs"/> images are in flight; their ages meet in the model's dynamic batcher
/// exactly as concurrent jobs do in the runner. A failing file is reported with its code and never stops the others.</para>
/// </remarks>
internal sealed class OfflineAger(ImageAger ager, ContactSheetRenderer contactSheets)
{
    /// <summary>Processes every planned file; <paramref name="completed"/> is called as each finishes (from any thread).</summary>
    /// <returns>One report per file, in the order planned.</returns>
    public async Task<IReadOnlyList<FileReport>> RunAsync(
        IReadOnlyList<PlannedFile> files, OfflineSettings settings, Action<FileReport> completed, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(completed);
        var reports = new FileReport[files.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = settings.Jobs, CancellationToken = cancellationToken };
        await Parallel.ForEachAsync(Enumerable.Range(0, files.Count), options, async (index, token) =>
        {
            var report = await ProcessAsync(files[index], settings, token).ConfigureAwait(false);
            reports[index] = report;
            completed(report);
        }).ConfigureAwait(false);
        return reports;
    }

    /// <summary>Processes one file; never throws except for cancellation.</summary>
    public async Task<FileReport> ProcessAsync(PlannedFile file, OfflineSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(settings);
        var name = file.Input.RelativePath;
        if (file.Failure is { } failure)
        {
            return Failed(name, failure);
        }
        if (file.Skip is { } skip)
        {
            return new FileReport(name, FileResults.Skipped, Reason: skip);
        }
        try
        {
            return await AgeAsync(file, settings, cancellationToken).ConfigureAwait(false);
        }
        catch (PipelineException e)
        {
            return Failed(name, e);
        }
    }

    private async Task<FileReport> AgeAsync(PlannedFile file, OfflineSettings settings, CancellationToken cancellationToken)
    {
        var extension = file.Extension;
        var directory = Path.Combine(settings.OutputRoot, file.Input.RelativeDirectory);
        var agePaths = settings.Ages.ToDictionary(a => a, a => Path.Combine(directory, BlobNames.AgedFileName(file.Stem!, a, extension)));
        var sheetPath = settings.ContactSheet ? Path.Combine(directory, BlobNames.ContactSheetFileName(file.Stem!, extension)) : null;
        var missing = settings.Ages.Where(a => settings.Force || !File.Exists(agePaths[a])).ToList();
        var sheetMissing = sheetPath is not null && (settings.Force || !File.Exists(sheetPath));
        if (missing.Count == 0 && !sheetMissing)
        {
            return new FileReport(file.Input.RelativePath, FileResults.Skipped, Reason: "outputs already exist");
        }

        byte[] input;
        try
        {
            input = await File.ReadAllBytesAsync(file.Input.FullPath, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw OfflinePlanner.ReadFailure(file.Input, e);
        }

        var written = new List<string>();
        var outputs = new Dictionary<int, ReadOnlyMemory<byte>>();
        RegionOutcome? region = null;
        if (missing.Count > 0)
        {
            var result = await ager.AgeAsync(input, missing, settings.Model, settings.Region, cancellationToken: cancellationToken).ConfigureAwait(false);
            region = result.Region;
            foreach (var output in result.Outputs)
            {
                await WriteAsync(agePaths[output.Age], output.Image.Content, settings.OutputRoot, written, cancellationToken).ConfigureAwait(false);
                outputs[output.Age] = output.Image.Content;
            }
        }
        if (sheetPath is not null && (sheetMissing || missing.Count > 0))
        {
            foreach (var age in settings.Ages.Where(a => !outputs.ContainsKey(a)))
            {
                outputs[age] = await ReadOutputAsync(agePaths[age], cancellationToken).ConfigureAwait(false);
            }
            var tiles = ImageAger.ContactSheetTiles(input, settings.Ages.Select(a => (a, outputs[a])));
            var sheet = contactSheets.Render(tiles, file.Format);
            await WriteAsync(sheetPath, sheet.Content, settings.OutputRoot, written, cancellationToken).ConfigureAwait(false);
        }
        return new FileReport(file.Input.RelativePath, FileResults.Done, Outputs: written, AppliedRegion: region?.Applied, Faces: region?.Faces.Count,
            FaceBoxes: region is { Faces.Count: > 0 } ? [.. region.Faces.Select(f => f.Box)] : null);
    }

    private static async Task WriteAsync(string path, ReadOnlyMemory<byte> content, string root, List<string> written, CancellationToken cancellationToken)
    {
        try
        {
            await AtomicFile.WriteAsync(path, content, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"{path} could not be written ({e.Message}); check that the output folder is writable and has space.", e);
        }
        written.Add(Path.GetRelativePath(root, path).Replace(Path.DirectorySeparatorChar, '/'));
    }

    private static async Task<ReadOnlyMemory<byte>> ReadOutputAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new PipelineException(PipelineErrorCode.InvalidRequest,
                $"The earlier output {path} could not be read for the contact sheet ({e.Message}); run again with --force.", e);
        }
    }

    private static FileReport Failed(string name, PipelineException e) =>
        new(name, FileResults.Failed, e.Code, e.Message);
}
