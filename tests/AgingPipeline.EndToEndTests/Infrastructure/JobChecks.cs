using AgingPipeline.Contracts;

namespace AgingPipeline.EndToEndTests.Infrastructure;

/// <summary>Assertions about finished jobs and their blobs in <c>aged/{jobId}/</c>.</summary>
public static class JobChecks
{
    /// <summary>Smallest mean absolute pixel difference (0–255) between an output and its input.</summary>
    /// <remarks>An "aged" image equal to its input is a defect (the residual was lost, or the model returns nothing).
    /// The test model's residual is analytic (0.5 × (age/100 − 0.5), at least ±0.025, i.e. ±3 levels, for the ages
    /// used here), so with it the check also proves that the residual reaches the output at full strength. The
    /// shipped model's strength is its own tests' business (model evaluation); here it only has to change the
    /// image.</remarks>
    public static double MinimumChange(LocalStack stack) => stack.ModelName == "test-ager" ? 1.0 : 0.05;

    /// <summary>Asserts a succeeded job with one output per age plus a contact sheet, nothing else in its folder,
    /// every blob decodable, outputs of the input's size, format and extension, and different from the input.</summary>
    /// <param name="stack">The stack.</param>
    /// <param name="record">The finished record.</param>
    /// <param name="ages">The ages asked for.</param>
    /// <param name="input">The input bytes; when null, sizes are compared with the record's and change is not checked.</param>
    /// <param name="extension">The expected output extension (<c>png</c>, <c>jpg</c>, <c>webp</c>), or null to take
    /// the record's format.</param>
    /// <returns>The decoded facts of each output by age.</returns>
    public static async Task<IReadOnlyDictionary<int, DecodedFacts>> AssertSucceededAsync(LocalStack stack, JobRecord record, IReadOnlyList<int> ages, byte[]? input, string? extension = null)
    {
        Assert.True(record.State == JobState.Succeeded, $"Job {record.JobId} ({record.InputBlob}) is {record.State}: {record.ErrorCode} {record.ErrorMessage}");
        Assert.Equal(PipelineErrorCode.None, record.ErrorCode);
        Assert.NotNull(record.CompletedAt);
        Assert.Equal(ages.Order(), record.Outputs.Select(o => o.Age).Order());
        Assert.NotNull(record.ContactSheetBlob);

        var inputFacts = input is null ? null : TestImages.Decode(input);
        var (width, height) = inputFacts is null ? (record.Width!.Value, record.Height!.Value) : (inputFacts.Width, inputFacts.Height);
        extension ??= record.Format switch { "jpeg" => "jpg", { } f => f, null => throw new InvalidOperationException("No format.") };

        var expected = record.Outputs.Select(o => o.Blob).Append(record.ContactSheetBlob!).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(
            ages.Select(age => BlobNames.AgedOutput(record.JobId, record.InputBlob, age, extension))
                .Append(BlobNames.ContactSheet(record.JobId, record.InputBlob, extension)).Order(StringComparer.Ordinal),
            expected);
        var listed = (await stack.ListOutputsAsync(record.JobId)).Select(name => $"{record.JobId}/{name}").Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, listed);

        var facts = new Dictionary<int, DecodedFacts>();
        foreach (var output in record.Outputs)
        {
            var content = await stack.DownloadOutputAsync(output.Blob);
            var decoded = TestImages.Decode(content);
            Assert.True(decoded.Width == width && decoded.Height == height,
                $"{output.Blob} is {decoded.Width}×{decoded.Height}; the input is {width}×{height}.");
            if (input is not null)
            {
                Assert.False(content.AsSpan().SequenceEqual(input), $"{output.Blob} is byte for byte the input.");
                var change = TestImages.MeanAbsoluteDifference(input, content);
                Assert.True(change >= MinimumChange(stack), $"{output.Blob} differs from the input by only {change:0.###} per pixel ({stack.ModelName}).");
            }
            facts[output.Age] = decoded;
        }
        var sheet = TestImages.Decode(await stack.DownloadOutputAsync(record.ContactSheetBlob!));
        Assert.True(sheet.Width > width / 4 && sheet.Height > 0, $"The contact sheet is {sheet.Width}×{sheet.Height}.");
        return facts;
    }

    /// <summary>Asserts a failed job with <paramref name="code"/>, a human reason and no outputs.</summary>
    public static async Task AssertFailedAsync(LocalStack stack, JobRecord record, params PipelineErrorCode[] code)
    {
        Assert.True(record.State == JobState.Failed, $"Job {record.JobId} is {record.State}, expected failed with {string.Join(" or ", code)}.");
        Assert.Contains(record.ErrorCode, code);
        Assert.False(string.IsNullOrWhiteSpace(record.ErrorMessage), "A failed job must say why.");
        Assert.Empty(record.Outputs);
        Assert.Empty(await stack.ListOutputsAsync(record.JobId));
    }
}
