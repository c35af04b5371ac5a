using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using AgingPipeline.Cli.Infrastructure;
using AgingPipeline.Cli.Offline;
using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using AgingPipeline.IntegrationTests.Infrastructure;
using TestCorpus = AgingPipeline.Testing.TestCorpus;
using RepoPaths = AgingPipeline.Testing.RepoPaths;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace AgingPipeline.IntegrationTests;

/// <summary>The function app with its shipped settings (no test overrides of the limits), beside which the runner's and
/// the CLI's checks run with theirs.</summary>
public sealed class ShippedLimitsFixture : PipelineFixture
{
    public override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();
}

/// <summary>Issue 15, one set of rules: the same bytes get the same code and the same message through every entry —
/// the upload API, a blob written straight into storage (OnImageUploaded), the runner's decode path and the CLI — each
/// with the limits its own shipped configuration gives it.</summary>
/// <remarks>An entry's outcome is what a person would finally be told: its own refusal, or, when it accepts the file,
/// the outcome of the next stage the file reaches (API → ingest → runner; ingest → runner; CLI planner → the CLI's
/// decoder). The door itself (the API, ingest and the CLI planner) is also compared directly.</remarks>
public sealed class OneSetOfRulesTests(ShippedLimitsFixture fixture, ITestOutputHelper output) : IClassFixture<ShippedLimitsFixture>
{
    private sealed record Outcome(PipelineErrorCode Code, string? Message)
    {
        public static readonly Outcome Accepted = new(PipelineErrorCode.None, null);

        public static Outcome From(PipelineException e) => new(e.Code, e.Message);

        public override string ToString() => Code == PipelineErrorCode.None ? "accepted" : $"{Code}: {Message ?? "(not an image, skipped)"}";
    }

    private sealed record Entries(Outcome ApiDoor, Outcome IngestDoor, Outcome CliDoor, Outcome Api, Outcome Ingest, Outcome Runner, Outcome Cli)
    {
        public IEnumerable<(string Entry, Outcome Outcome)> Final =>
            [("API", Api), ("blob write + ingest", Ingest), ("runner", Runner), ("CLI", Cli)];
    }

    private static readonly Lazy<ImageDecoder> s_runnerDecoder = new(RunnerDecoder);
    private static readonly Lazy<ImageDecoder> s_cliDecoder = new(() => new ImageDecoder(new ImagingOptions { Limits = CliArguments.Limits }));

    /// <summary>The decoder as the runner builds it: its own appsettings.json through <c>AddAgingImaging</c>.</summary>
    private static ImageDecoder RunnerDecoder()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepoPaths.Root, "gpu-runner", "AgingPipeline.Runner", "appsettings.json"))
            .Build();
        var services = new ServiceCollection()
            .AddSingleton<IConfiguration>(configuration)
            .AddLogging()
            .AddAgingImaging()
            .BuildServiceProvider();
        return services.GetRequiredService<ImageDecoder>();
    }

    [Fact]
    public void The_function_app_the_runner_and_the_cli_hold_the_same_limits()
    {
        var functionApp = fixture.App.Services.GetRequiredService<IOptions<InputLimits>>().Value;
        var runner = s_runnerDecoder.Value.Options.Limits;
        var cli = CliArguments.Limits;
        foreach (var limits in new[] { functionApp, runner, cli })
        {
            Assert.Equal(50L * 1024 * 1024, limits.MaxBytes);
            Assert.Equal(40_000_000, limits.MaxPixels);
            Assert.Equal(12_000, limits.MaxDimension);
            Assert.Equal(16, limits.MinDimension);
            Assert.Equal(1, limits.MaxFrames);
            Assert.Equal([ImageFormat.Png, ImageFormat.Jpeg, ImageFormat.WebP], limits.AcceptedFormats);
        }
    }

    /// <summary>Issue 15: 40 MP was the limit of the API and ingest, 50 MP the runner's and the CLI's, so a 45 MP image
    /// was refused through the web form and aged by <c>aging age</c>.</summary>
    [Fact]
    public async Task A_45_megapixel_image_is_refused_with_TooManyPixels_and_the_same_words_by_every_entry()
    {
        var entries = await RunAsync("big.png", TestImages.PngWithHeader(7500, 6000), Scratch());

        var expected = new Outcome(PipelineErrorCode.TooManyPixels, "The image is 7500 × 6000 pixels (45 megapixels); the limit is 40 megapixels.");
        foreach (var (entry, outcome) in entries.Final)
        {
            Assert.True(expected == outcome, $"{entry}: {outcome}");
        }
    }

    /// <summary>A truncated PNG's refusal used to carry libvips' own last error line, which changed from run to run.</summary>
    [Fact]
    public async Task A_truncated_png_is_refused_with_one_fixed_message_by_every_entry_on_every_run()
    {
        var truncated = TestCorpus.ReadFile("truncated_image.png");
        var runs = new List<Entries>();
        for (var i = 0; i < 3; i++)
        {
            runs.Add(await RunAsync($"truncated-{i}.png", truncated, Scratch()));
        }

        var expected = new Outcome(PipelineErrorCode.CorruptImage, ImageDecoder.CorruptMessage(ImageFormat.Png));
        foreach (var (entry, outcome) in runs.SelectMany(r => r.Final))
        {
            Assert.True(expected == outcome, $"{entry}: {outcome}");
        }
    }

    [Fact]
    public async Task Every_corpus_file_gets_the_same_code_and_message_through_every_entry()
    {
        var files = TestCorpus.Files;
        var scratch = Scratch();
        var results = new ConcurrentDictionary<string, Entries>(StringComparer.Ordinal);
        await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (path, cancellationToken) =>
        {
            var relative = Path.GetRelativePath(TestCorpus.Images, path).Replace(Path.DirectorySeparatorChar, '/');
            results[relative] = await RunAsync(relative, await File.ReadAllBytesAsync(path, cancellationToken), scratch);
        });

        var mismatches = new List<string>();
        foreach (var (file, entries) in results.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var doors = new[] { ("API", entries.ApiDoor), ("ingest", entries.IngestDoor), ("CLI", entries.CliDoor) };
            var final = entries.Final.ToArray();
            if (!Agree(doors) || !Agree(final))
            {
                mismatches.Add($"{file}: doors [{string.Join("; ", doors.Select(d => $"{d.Item1} {d.Item2}"))}], "
                    + $"outcomes [{string.Join("; ", final.Select(d => $"{d.Entry} {d.Outcome}"))}]");
            }
        }
        var byCode = results.Values.GroupBy(e => e.Runner.Code).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}");
        output.WriteLine($"{TestCorpus.Description}: {string.Join(", ", byCode)}");

        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {files.Count} files differ between entries:\n{string.Join("\n", mismatches.Take(30))}");
        // The corpus must exercise the door and the decoder, or agreement would prove nothing.
        Assert.Contains(results.Values, e => e.Runner.Code == PipelineErrorCode.None);
        Assert.Contains(results.Values, e => e.Runner.Code == PipelineErrorCode.UnsupportedFormat && e.ApiDoor.Code == PipelineErrorCode.UnsupportedFormat);
        Assert.Contains(results.Values, e => e.Runner.Code == PipelineErrorCode.CorruptImage && e.ApiDoor.Code == PipelineErrorCode.None);
        Assert.Contains(results.Values, e => e.Runner.Code == PipelineErrorCode.BadDimensions && e.ApiDoor.Code == PipelineErrorCode.BadDimensions);
        Assert.Contains(results.Values, e => e.Runner.Code == PipelineErrorCode.TooManyFrames);
    }

    /// <summary>Outcomes agree when their codes are equal and every message that exists is the same (a CLI skip of a
    /// file whose name is not an image's has no message; it counts as UnsupportedFormat).</summary>
    private static bool Agree(IReadOnlyList<(string, Outcome Outcome)> outcomes)
    {
        var first = outcomes[0].Outcome;
        var messages = outcomes.Select(o => o.Outcome.Message).Where(m => m is not null).Distinct(StringComparer.Ordinal).Count();
        return outcomes.All(o => o.Outcome.Code == first.Code) && messages <= 1;
    }

    private static string Scratch()
    {
        var folder = Path.Combine(Path.GetTempPath(), PipelineFixture.Unique("rules"));
        Directory.CreateDirectory(folder);
        return folder;
    }

    private async Task<Entries> RunAsync(string name, byte[] content, string scratch)
    {
        var runner = Decode(s_runnerDecoder.Value, content);

        var (apiDoor, apiBlob) = await UploadThroughApiAsync(Path.GetFileName(name), content);
        var api = apiDoor.Code != PipelineErrorCode.None ? apiDoor : await IngestAsync(apiBlob!) ?? runner;

        var direct = $"{PipelineFixture.Unique("direct")}/{Path.GetFileName(name)}";
        await fixture.PutUploadAsync(direct, content);
        var ingestDoor = await IngestAsync(direct) ?? Outcome.Accepted;
        var ingest = ingestDoor.Code != PipelineErrorCode.None ? ingestDoor : runner;

        var cliDoor = PlanWithCli(name, content, scratch);
        var cli = cliDoor.Code != PipelineErrorCode.None ? cliDoor : Decode(s_cliDecoder.Value, content);
        return new Entries(apiDoor, ingestDoor, cliDoor, api, ingest, runner, cli);
    }

    private static Outcome Decode(ImageDecoder decoder, byte[] content)
    {
        try
        {
            using var decoded = decoder.Decode(content);
            return Outcome.Accepted;
        }
        catch (PipelineException e)
        {
            return Outcome.From(e);
        }
    }

    /// <summary>POST /api/uploads with one file: the API's refusal, or the blob it committed.</summary>
    private async Task<(Outcome Door, string? Blob)> UploadThroughApiAsync(string fileName, byte[] content)
    {
        using var form = new MultipartFormDataContent();
        var part = new ByteArrayContent(content);
        part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(part, "files", fileName);
        using var response = await fixture.App.CreateClient().PostAsync("/api/uploads", form);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        if (response.StatusCode == HttpStatusCode.Accepted)
        {
            return (Outcome.Accepted, body.GetProperty("jobs")[0].GetProperty("blob").GetString());
        }
        var code = Enum.Parse<PipelineErrorCode>(body.GetProperty("code").GetString()!);
        return (new Outcome(code, body.GetProperty("detail").GetString()), null);
    }

    /// <summary>Delivers the storage event of <paramref name="blobName"/>; the failed record's code and message, or null
    /// when a job was queued.</summary>
    private async Task<Outcome?> IngestAsync(string blobName)
    {
        var etag = (await fixture.Clients.Uploads.GetBlobClient(blobName).GetPropertiesAsync()).Value.ETag.ToString();
        using var response = await Invocations.OnImageUploadedAsync(fixture.App.CreateClient(), fixture.Clients.Uploads, blobName);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var record = (await fixture.Jobs.GetAsync(PipelineFixture.JobIdFor(blobName, etag)))!.Record;
        return record.State == JobState.Failed ? new Outcome(record.ErrorCode, record.ErrorMessage) : null;
    }

    /// <summary>The CLI's planning of one file (what <c>aging age</c> and <c>aging batch</c> do before reading a file
    /// whole or uploading it).</summary>
    private static Outcome PlanWithCli(string name, byte[] content, string scratch)
    {
        var folder = Path.Combine(scratch, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, Path.GetFileName(name));
        File.WriteAllBytes(path, content);
        var planned = OfflinePlanner.Plan(InputScanner.Scan(folder, []), new OutputNames(), CliArguments.Limits).Single();
        return planned switch
        {
            { Failure: { } failure } => Outcome.From(failure),
            { Skip: not null } => new Outcome(PipelineErrorCode.UnsupportedFormat, null),
            _ => Outcome.Accepted,
        };
    }
}
