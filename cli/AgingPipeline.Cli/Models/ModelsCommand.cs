using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.Inference;
using Spectre.Console;

namespace AgingPipeline.Cli.Models;

/// <summary>One condition input of a model.</summary>
internal sealed record ModelConditionInfo(string? Name, string? Role, string? Unit, double? Scale, double? Min, double? Max);

/// <summary>One folder of the model repository, as <c>aging models</c> shows it.</summary>
internal sealed record ModelInfo
{
    /// <summary>The <c>{name}</c> folder.</summary>
    public required string Name { get; init; }

    /// <summary>The <c>{version}</c> folder.</summary>
    public required string Version { get; init; }

    /// <summary>"age-transform" or "age-estimator", when the manifest could be read.</summary>
    public string? Kind { get; init; }

    /// <summary>True when the version passed every check and is served.</summary>
    public bool Served { get; init; }

    /// <summary>True for the version used when no model is named.</summary>
    public bool IsDefault { get; init; }

    /// <summary>"CPU" or "CUDA:n", when served.</summary>
    public string? ExecutionProvider { get; init; }

    /// <summary>The version folder.</summary>
    public string? Directory { get; init; }

    /// <summary>Model input width in pixels.</summary>
    public int? InputWidth { get; init; }

    /// <summary>Model input height in pixels.</summary>
    public int? InputHeight { get; init; }

    /// <summary>Tensor layout, e.g. NCHW.</summary>
    public string? InputLayout { get; init; }

    /// <summary>Condition inputs (target age, source age) with their ranges.</summary>
    public IReadOnlyList<ModelConditionInfo>? Conditions { get; init; }

    /// <summary>"residual", "image" or "age-years".</summary>
    public string? OutputKind { get; init; }

    /// <summary>Largest batch the model takes.</summary>
    public int? MaxBatch { get; init; }

    /// <summary>ONNX opset.</summary>
    public int? Opset { get; init; }

    /// <summary>SHA-256 of the model file, as the manifest states it.</summary>
    public string? Sha256 { get; init; }

    /// <summary>Licence of the model.</summary>
    public string? Licence { get; init; }

    /// <summary>What the model was trained on.</summary>
    public string? TrainingData { get; init; }

    /// <summary>Evaluation figures from the manifest.</summary>
    public JsonElement? Evaluation { get; init; }

    /// <summary>Why the folder is skipped (empty when served).</summary>
    public IReadOnlyList<string> Problems { get; init; } = [];
}

/// <summary>The result of <c>aging models</c>.</summary>
internal sealed record ModelsReport(string Root, string DefaultModel, IReadOnlyList<ModelInfo> Models);

/// <summary><c>aging models [--models root]</c>: what a model repository serves, with manifest details, and the folders
/// it skips with their reasons. Uses the runner's own validation (manifest, SHA-256, graph, warm-up).</summary>
internal static class ModelsCommand
{
    /// <summary>Creates the command.</summary>
    public static Command Create(CliOptions common, CliConsole console)
    {
        var models = CliOptions.Models();
        var command = new Command("models", "List the models a local repository serves (with manifest details) and the folders it skips, with their reasons.")
        {
            models,
        };
        AgingCli.SetAction(command, common, console, (parse, output, ct) => RunAsync(parse.GetValue(models), output, ct));
        return command;
    }

    private static async Task<int> RunAsync(string? root, CommandOutput output, CancellationToken cancellationToken)
    {
        await using var repository = await ModelLoader.OpenAsync(ModelRoots.Resolve(root), cancellationToken).ConfigureAwait(false);
        repository.TryGet(repository.DefaultModelName, null, out var defaultModel);
        var infos = repository.Entries
            .OrderBy(e => e.Name, StringComparer.Ordinal)
            .ThenBy(e => int.TryParse(e.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : int.MaxValue)
            .Select(e => Describe(repository, e, defaultModel))
            .ToList();
        var report = new ModelsReport(repository.Root, repository.DefaultModelName, infos);
        if (output.Json)
        {
            output.WriteJson(report, CliJsonContext.Default.ModelsReport);
        }
        else
        {
            Render(output.Console, report);
        }
        if (!infos.Any(i => i.Served))
        {
            var why = infos.Count == 0 ? "it holds no {name}/{version} folder" : "every folder was skipped (see above)";
            return output.Json
                ? ExitCodes.For(PipelineErrorCode.ModelNotFound)
                : output.Error(PipelineErrorCode.ModelNotFound, $"No model is served from {repository.Root}: {why}.",
                    "Put a model in {root}/{name}/{version}/ (model.json and model.onnx, see models/README.md), or pass --models <root>, e.g. --models tests/fixtures/models.");
        }
        return ExitCodes.Success;
    }

    private static ModelInfo Describe(ModelRepository repository, ModelEntry entry, ServedModel? defaultModel)
    {
        ServedModel? served = null;
        if (entry.IsServed)
        {
            repository.TryGet(entry.Name, entry.Version, out served);
        }
        var manifest = served?.Manifest ?? TryReadManifest(entry.Directory);
        return new ModelInfo
        {
            Name = entry.Name,
            Version = entry.Version,
            Kind = entry.Kind ?? manifest?.Kind,
            Served = entry.IsServed,
            IsDefault = served is not null && ReferenceEquals(served, defaultModel),
            ExecutionProvider = entry.ExecutionProvider,
            Directory = entry.Directory,
            InputWidth = manifest?.Input?.Width,
            InputHeight = manifest?.Input?.Height,
            InputLayout = manifest?.Input?.Layout,
            Conditions = manifest?.Conditions?.Select(c => new ModelConditionInfo(c.Name, c.Role, c.Unit, c.Scale, c.Min, c.Max)).ToList(),
            OutputKind = manifest?.Output?.Kind,
            MaxBatch = manifest?.MaxBatch,
            Opset = manifest?.Opset,
            Sha256 = manifest?.Sha256,
            Licence = manifest?.Licence,
            TrainingData = manifest?.TrainingData,
            Evaluation = manifest?.Evaluation,
            Problems = entry.Problems,
        };
    }

    private static ModelManifest? TryReadManifest(string directory)
    {
        try
        {
            var path = Path.Combine(directory, "model.json");
            return File.Exists(path) ? ModelManifest.Parse(File.ReadAllText(path)) : null;
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string Compact(JsonElement element)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = false, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            element.WriteTo(writer);
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void Render(CliConsole console, ModelsReport report)
    {
        if (report.Models.Count == 0)
        {
            return;
        }
        var table = new Table().Border(TableBorder.Rounded).Title($"Models in {Markup.Escape(report.Root)}");
        foreach (var column in new[] { "Model", "Version", "Kind", "Input", "Target ages", "Output", "Max batch", "Runs on", "Status" })
        {
            table.AddColumn(column);
        }
        foreach (var model in report.Models)
        {
            var target = model.Conditions?.FirstOrDefault(c => c.Role == ModelKinds.TargetAgeRole);
            table.AddRow(
                CommandOutput.Cell(model.Name),
                CommandOutput.Cell(model.Version),
                CommandOutput.Cell(model.Kind ?? "?"),
                CommandOutput.Cell(model.InputWidth is { } w && model.InputHeight is { } h ? string.Create(CultureInfo.InvariantCulture, $"{w}×{h} {model.InputLayout}") : "?"),
                CommandOutput.Cell(target is { Min: { } min, Max: { } max } ? string.Create(CultureInfo.InvariantCulture, $"{min}–{max}") : "–"),
                CommandOutput.Cell(model.OutputKind ?? "?"),
                CommandOutput.Cell(model.MaxBatch?.ToString(CultureInfo.InvariantCulture) ?? "?"),
                CommandOutput.Cell(model.ExecutionProvider ?? "–"),
                model.Served
                    ? CommandOutput.Cell(model.IsDefault ? "served (default)" : "served", Color.Green)
                    : CommandOutput.Cell("skipped", Color.Red));
        }
        console.Out.Write(table);
        foreach (var model in report.Models.Where(m => m.Served))
        {
            console.Out.WriteLine($"{model.Name}/{model.Version}: licence: {model.Licence ?? "?"}; training data: {model.TrainingData ?? "?"}; sha256 {model.Sha256}");
            if (model.Evaluation is { } evaluation)
            {
                console.Out.WriteLine($"  evaluation: {Compact(evaluation)}");
            }
        }
        foreach (var model in report.Models.Where(m => !m.Served))
        {
            console.Out.WriteLine($"{model.Name}/{model.Version} is skipped: {string.Join(" ", model.Problems)}");
        }
    }
}
