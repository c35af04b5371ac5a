using System.Globalization;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Inference;

namespace AgingPipeline.Cli.Models;

/// <summary>Opens a local model repository with the runner's own <see cref="ModelRepository"/> (same validation:
/// manifest, SHA-256, graph, warm-up) and picks the ager to use.</summary>
internal static class ModelLoader
{
    /// <summary>Scans <paramref name="root"/> once.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelNotFound"/> when the folder does not exist.</exception>
    public static async Task<ModelRepository> OpenAsync(string root, CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(root))
        {
            throw new PipelineException(PipelineErrorCode.ModelNotFound, $"The model repository {root} does not exist.");
        }
        var repository = new ModelRepository(new InferenceOptions { ModelRoot = root, RescanInterval = TimeSpan.Zero });
        try
        {
            await repository.ScanAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await repository.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return repository;
    }

    /// <summary>The served ager for <paramref name="choice"/>, checked against <paramref name="ages"/>.</summary>
    /// <exception cref="PipelineException"><see cref="PipelineErrorCode.ModelNotFound"/> (with the reasons a matching folder
    /// was skipped), or <see cref="PipelineErrorCode.InvalidAges"/> for ages outside the model's range.</exception>
    public static ServedModel GetAger(ModelRepository repository, ModelChoice choice, IReadOnlyList<int> ages)
    {
        ArgumentNullException.ThrowIfNull(repository);
        ArgumentNullException.ThrowIfNull(choice);
        ArgumentNullException.ThrowIfNull(ages);
        ServedModel model;
        try
        {
            model = repository.Get(choice.Name, choice.Version);
        }
        catch (PipelineException e) when (e.Code == PipelineErrorCode.ModelNotFound)
        {
            var name = choice.Name ?? repository.DefaultModelName;
            var skipped = repository.Entries
                .Where(entry => entry.Name == name && !entry.IsServed && (choice.Version is null || entry.Version == choice.Version))
                .Select(entry => $" {entry.Name}/{entry.Version} is skipped: {string.Join(" ", entry.Problems)}");
            throw new PipelineException(PipelineErrorCode.ModelNotFound,
                $"{e.Message.TrimEnd('.')} in {repository.Root}.{string.Concat(skipped)}", e);
        }
        if (model.Ager is not { } ager)
        {
            throw new PipelineException(PipelineErrorCode.ModelNotFound,
                $"Model {model.Name}/{model.Version} is an {model.Kind}, not an image ager.");
        }
        var min = ager.TargetAge.Min!.Value;
        var max = ager.TargetAge.Max!.Value;
        var outside = ages.Where(a => a < min || a > max).ToList();
        if (outside.Count > 0)
        {
            throw new PipelineException(PipelineErrorCode.InvalidAges, string.Create(CultureInfo.InvariantCulture,
                $"Model {model.Name}/{model.Version} renders ages {min}–{max}; {string.Join(", ", outside)} {(outside.Count == 1 ? "is" : "are")} outside that range."));
        }
        return model;
    }
}
