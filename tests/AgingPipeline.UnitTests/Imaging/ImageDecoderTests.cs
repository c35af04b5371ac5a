using AgingPipeline.Contracts;
using AgingPipeline.Imaging;
using NetVips;

namespace AgingPipeline.UnitTests.Imaging;

public sealed class ImageDecoderTests
{
    private readonly ImageDecoder _decoder = new(new ImagingOptions());

    [Fact]
    public void Applies_the_exif_orientation()
    {
        // 40 × 20: left half red, right half blue. Orientation 6 means "rotate 90° clockwise to display",
        // so the displayed image is 20 × 40 with red on top.
        var pixels = new byte[40 * 20 * 3];
        for (var y = 0; y < 20; y++)
        {
            for (var x = 0; x < 40; x++)
            {
                var i = (y * 40 + x) * 3;
                if (x < 20)
                {
                    pixels[i] = 255;
                }
                else
                {
                    pixels[i + 2] = 255;
                }
            }
        }
        using var stored = TestImages.FromPixels(pixels, 40, 20, 3);
        using var oriented = stored.Mutate(m => m.Set(GValue.GIntType, "orientation", 6));
        var jpeg = TestImages.Jpeg(oriented);

        using var decoded = _decoder.Decode(jpeg);

        Assert.Equal(6, decoded.Header.Orientation);
        Assert.Equal((20, 40), (decoded.Width, decoded.Height));
        var rgb = decoded.ToInterleavedBytes();
        var top = (5 * 20 + 10) * 3;
        var bottom = (35 * 20 + 10) * 3;
        Assert.True(rgb[top] > 200 && rgb[top + 2] < 60, $"top should be red, was {rgb[top]},{rgb[top + 1]},{rgb[top + 2]}");
        Assert.True(rgb[bottom + 2] > 200 && rgb[bottom] < 60, $"bottom should be blue, was {rgb[bottom]},{rgb[bottom + 1]},{rgb[bottom + 2]}");
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    [InlineData(6)]
    [InlineData(7)]
    [InlineData(8)]
    public void Every_exif_orientation_of_the_corpus_decodes_upright(int orientation)
    {
        using var reference = _decoder.Decode(TestCorpus.ReadFile("hopper.jpg"));
        using var decoded = _decoder.Decode(TestCorpus.ReadFile($"hopper_orientation_{orientation}.jpg"));

        Assert.Equal((reference.Width, reference.Height), (decoded.Width, decoded.Height));
        var a = reference.ToInterleavedBytes();
        var b = decoded.ToInterleavedBytes();
        var meanDifference = a.Zip(b, (x, y) => Math.Abs(x - y)).Average();
        Assert.True(meanDifference < 12, $"mean difference {meanDifference:0.0} to the upright reference");
    }

    [Fact]
    public void Grey_images_become_three_band_srgb()
    {
        using var grey = TestImages.Solid(32, 32, 77);
        using var decoded = _decoder.Decode(TestImages.Png(grey));
        Assert.Equal(3, decoded.Bands);
        Assert.False(decoded.HasAlpha);
        Assert.All(decoded.ToInterleavedBytes(), v => Assert.Equal(77, v));
    }

    [Fact]
    public void Sixteen_bit_images_become_eight_bit()
    {
        using var solid = TestImages.Solid(32, 32, 200, 100, 50);
        using var wide = solid.Cast(Enums.BandFormat.Ushort, shift: true);
        using var rgb16 = wide.Copy(interpretation: Enums.Interpretation.Rgb16);
        using var decoded = _decoder.Decode(rgb16.PngsaveBuffer());
        var pixels = decoded.ToInterleavedBytes();
        Assert.Equal(32 * 32 * 3, pixels.Length);
        Assert.Equal([200, 100, 50], pixels[..3]);
    }

    [Fact]
    public void Keeps_the_alpha_channel_at_full_resolution()
    {
        using var rgba = TestImages.Solid(32, 16, 10, 20, 30, 128);
        using var decoded = _decoder.Decode(TestImages.Png(rgba));
        Assert.True(decoded.HasAlpha);
        Assert.Equal([10, 20, 30, 128], decoded.ToInterleavedBytes()[..4]);
    }

    [Fact]
    public void A_truncated_jpeg_is_corrupt_although_its_header_is_fine()
    {
        using var noise = TestImages.Noise(64, 64);
        var jpeg = TestImages.Jpeg(noise);
        var truncated = jpeg[..(jpeg.Length / 2)];

        var header = new ImageHeaderReader(new ImagingOptions()).Read(truncated);
        Assert.Equal((64, 64), (header.Width, header.Height));

        var error = Assert.Throws<PipelineException>(() => _decoder.Decode(truncated));
        Assert.Equal(PipelineErrorCode.CorruptImage, error.Code);
        Assert.Equal("The JPEG image is truncated or corrupt and cannot be decoded.", error.Message);
        Assert.Contains("premature end", error.InnerException!.Message, StringComparison.Ordinal);

        var tensor = new float[3 * 32 * 32];
        error = Assert.Throws<PipelineException>(() => _decoder.DecodeForModel(truncated, 32, 32, tensor));
        Assert.Equal(PipelineErrorCode.CorruptImage, error.Code);
    }

    [Theory]
    [InlineData("truncated_jpeg.jpg")]
    [InlineData("truncated_image.png")]
    [InlineData("broken_data_stream.png")]
    [InlineData("ultrahdr.jpg")]
    public void Broken_files_of_the_corpus_are_corrupt(string file)
    {
        var error = Assert.Throws<PipelineException>(() => _decoder.Decode(TestCorpus.ReadFile(file)));
        Assert.Equal(PipelineErrorCode.CorruptImage, error.Code);
        Assert.IsType<NetVips.VipsException>(error.InnerException);
    }

    /// <summary>Issue 15: a truncated PNG's refusal carried libvips' last error line, which depends on the per-thread
    /// error buffer (earlier failures on the same thread add to it) and on where the tile threads stopped reading, so
    /// the same file got different words from run to run. The message is now fixed per format; libvips' words stay in
    /// the inner exception for the logs.</summary>
    [Fact]
    public void A_truncated_png_is_refused_with_the_same_words_every_time_on_any_thread()
    {
        var truncated = TestCorpus.ReadFile("truncated_image.png");
        var others = new[] { TestCorpus.ReadFile("broken_data_stream.png"), TestCorpus.ReadFile("truncated_jpeg.jpg"), TestCorpus.ReadFile("ultrahdr.jpg") };
        var messages = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(0, 24, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            // Another broken file first, so that libvips' per-thread error buffer holds something else already.
            Assert.Throws<PipelineException>(() => _decoder.Decode(others[i % others.Length]));
            var tensor = new float[3 * 32 * 32];
            messages.Add(Assert.Throws<PipelineException>(() => _decoder.Decode(truncated)).Message);
            messages.Add(Assert.Throws<PipelineException>(() => _decoder.DecodeForModel(truncated, 32, 32, tensor)).Message);
        });

        Assert.Equal(48, messages.Count);
        Assert.All(messages, m => Assert.Equal(ImageDecoder.CorruptMessage(ImageFormat.Png), m));
        Assert.Equal("The PNG image is truncated or corrupt and cannot be decoded.", ImageDecoder.CorruptMessage(ImageFormat.Png));
    }

    [Fact]
    public void Every_corpus_file_decodes_or_fails_with_a_typed_input_error()
    {
        // The resolved corpus: AGING_CORPUS, ../shared/corpus (all 713 of Pillow's test images) or the committed subset.
        var outcomes = DecodeEach(TestCorpus.Files);
        Assert.True(outcomes.GetValueOrDefault(PipelineErrorCode.None) > 0, $"Not one file of {TestCorpus.Description} decoded.");
        if (TestCorpus.Files.Count > 500)
        {
            // Pillow's full set: its known spread of outcomes, so that a decoder refusing good images shows here.
            Assert.True(outcomes.GetValueOrDefault(PipelineErrorCode.None) > 300);
            Assert.True(outcomes.GetValueOrDefault(PipelineErrorCode.UnsupportedFormat) > 150);
            Assert.True(outcomes.GetValueOrDefault(PipelineErrorCode.CorruptImage) >= 5);
            Assert.True(outcomes.GetValueOrDefault(PipelineErrorCode.TooManyFrames) >= 30);
        }
    }

    [Fact]
    public void The_committed_corpus_subset_holds_every_outcome_of_the_full_corpus()
    {
        var outcomes = DecodeEach(TestCorpus.SubsetFiles);
        var summary = string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"));
        Assert.All(
            [PipelineErrorCode.None, PipelineErrorCode.UnsupportedFormat, PipelineErrorCode.CorruptImage, PipelineErrorCode.TooManyFrames, PipelineErrorCode.BadDimensions],
            code => Assert.True(outcomes.GetValueOrDefault(code) > 0, $"No file of tests/fixtures/corpus ends as {code} ({summary})."));
    }

    /// <summary>Decodes every file and packs it for a 32² model; counts the outcomes. A failure must be a typed
    /// <see cref="PipelineException"/> with a message, never <see cref="PipelineErrorCode.Internal"/>.</summary>
    private static Dictionary<PipelineErrorCode, int> DecodeEach(IReadOnlyList<string> files)
    {
        Assert.NotEmpty(files);
        var decoder = new ImageDecoder(new ImagingOptions { Limits = new InputLimits { MaxPixels = 8_000_000 } });
        var tensor = new float[3 * 32 * 32];
        var outcomes = new Dictionary<PipelineErrorCode, int>();
        foreach (var file in files)
        {
            var bytes = File.ReadAllBytes(file);
            PipelineErrorCode code;
            try
            {
                using var decoded = decoder.Decode(bytes);
                decoder.PackForModel(decoded, 32, 32, tensor);
                Assert.All(tensor, v => Assert.InRange(v, -1f, 1f));
                code = PipelineErrorCode.None;
            }
            catch (PipelineException e)
            {
                Assert.False(e.Code == PipelineErrorCode.Internal, $"{file}: {e.Message}");
                Assert.False(string.IsNullOrWhiteSpace(e.Message));
                code = e.Code;
            }
            outcomes[code] = outcomes.GetValueOrDefault(code) + 1;
        }
        return outcomes;
    }

    [Fact]
    public void Packs_a_solid_colour_into_planar_minus_one_to_one()
    {
        using var solid = TestImages.Solid(64, 64, 255, 0, 51);
        var tensor = new float[3 * 32 * 32];

        var geometry = _decoder.DecodeForModel(TestImages.Png(solid), 32, 32, tensor);

        Assert.Equal(new ModelInputGeometry(32, 32, 0, 0, 32, 32, 64, 64), geometry);
        Assert.All(tensor[..1024], v => Assert.Equal(1f, v, 1e-6f));
        Assert.All(tensor[1024..2048], v => Assert.Equal(-1f, v, 1e-6f));
        Assert.All(tensor[2048..], v => Assert.Equal(51 / 127.5f - 1f, v, 1e-6f));
    }

    [Fact]
    public void Pads_a_wide_image_into_the_model_square_keeping_its_aspect()
    {
        using var wide = TestImages.Gradient(200, 100);
        var tensor = new float[3 * 32 * 32];

        var geometry = _decoder.DecodeForModel(TestImages.Png(wide), 32, 32, tensor);

        Assert.Equal(new ModelInputGeometry(32, 32, 0, 8, 32, 16, 200, 100), geometry);
        // Padding repeats the edge rows: the first row equals the first content row.
        Assert.Equal(tensor.AsSpan(8 * 32, 32).ToArray(), tensor.AsSpan(0, 32).ToArray());
        Assert.Equal(tensor.AsSpan(23 * 32, 32).ToArray(), tensor.AsSpan(31 * 32, 32).ToArray());
    }

    [Fact]
    public void Stretches_when_configured()
    {
        var decoder = new ImageDecoder(new ImagingOptions { FitMode = ModelFitMode.Stretch });
        using var wide = TestImages.Gradient(200, 100);
        var tensor = new float[3 * 32 * 32];

        var geometry = decoder.DecodeForModel(TestImages.Png(wide), 32, 32, tensor);

        Assert.Equal(new ModelInputGeometry(32, 32, 0, 0, 32, 32, 200, 100), geometry);
    }

    [Fact]
    public void Flattens_transparency_onto_the_configured_background_for_the_model()
    {
        using var transparent = TestImages.Solid(32, 32, 0, 0, 0, 0);
        var tensor = new float[3 * 32 * 32];
        _decoder.DecodeForModel(TestImages.Png(transparent), 32, 32, tensor);
        Assert.All(tensor, v => Assert.Equal(1f, v, 1e-6f));

        var grey = new ImageDecoder(new ImagingOptions { FlattenBackground = [0, 0, 0] });
        grey.DecodeForModel(TestImages.Png(transparent), 32, 32, tensor);
        Assert.All(tensor, v => Assert.Equal(-1f, v, 1e-6f));
    }

    [Fact]
    public void Packing_a_decoded_image_matches_decoding_for_the_model()
    {
        using var gradient = TestImages.Gradient(64, 48);
        var png = TestImages.Png(gradient);
        var direct = new float[3 * 32 * 32];
        var fromDecoded = new float[3 * 32 * 32];

        var g1 = _decoder.DecodeForModel(png, 32, 32, direct);
        using var decoded = _decoder.Decode(png);
        var g2 = _decoder.PackForModel(decoded, 32, 32, fromDecoded);

        Assert.Equal(g1, g2);
        var maxDifference = direct.Zip(fromDecoded, (a, b) => Math.Abs(a - b)).Max();
        Assert.True(maxDifference < 0.05f, $"max difference {maxDifference}");
    }
}
