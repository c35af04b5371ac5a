using AgingPipeline.Cli.Tests.Infrastructure;
using AgingPipeline.Contracts;
using AgingPipeline.ImageFormats;
using NetVips;

namespace AgingPipeline.Cli.Tests;

/// <summary><c>aging age</c> over a real folder with the real decode → batch → infer → compose path.</summary>
public sealed class OfflineAgeTests : IDisposable
{
    private static readonly int[] s_ages = [20, 50, 80];

    private readonly TempFolder _temp = new();

    /// <summary>An input the test expects outputs for.</summary>
    private sealed record Expected(string Directory, string Stem, string Extension, int Width, int Height, ImageFormat Format);

    [Fact]
    public async Task Ages_a_nested_mixed_folder_into_a_mirrored_upright_input_sized_tree_and_a_second_run_skips_everything()
    {
        var input = _temp.Combine("in");
        var output = _temp.Combine("out");
        var (expected, upright) = BuildInputs(input);
        using (upright)
        {
            var first = await AgeAsync(input, output, "--json");

            Assert.True(first.ExitCode == 12, first.ToString()); // CorruptImage is the only failure: 10 + 2.
            var json = first.Json;
            Assert.Equal(12, json.GetProperty("counts").GetProperty("total").GetInt32());
            Assert.Equal(11, json.GetProperty("counts").GetProperty("done").GetInt32());
            Assert.Equal(0, json.GetProperty("counts").GetProperty("skipped").GetInt32());
            Assert.Equal(1, json.GetProperty("counts").GetProperty("failed").GetInt32());
            Assert.Equal(11 * (s_ages.Length + 1), json.GetProperty("counts").GetProperty("outputsWritten").GetInt32());
            Assert.Equal(1, json.GetProperty("failuresByCode").GetProperty("CorruptImage").GetInt32());
            var broken = json.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("result").GetString() == "failed");
            Assert.Equal("broken.jpg", broken.GetProperty("input").GetString());
            Assert.Equal("CorruptImage", broken.GetProperty("code").GetString());

            // Exactly the expected files: mirrored folders, pipeline names, no leftovers.
            var expectedNames = expected.SelectMany(e => s_ages.Select(a => Rel(e.Directory, $"{e.Stem}.age{a}.{e.Extension}"))
                .Append(Rel(e.Directory, $"{e.Stem}.contact.{e.Extension}"))).Order(StringComparer.Ordinal).ToList();
            Assert.Equal(expectedNames, ListFiles(output));

            foreach (var e in expected)
            {
                foreach (var age in s_ages)
                {
                    var bytes = File.ReadAllBytes(Path.Combine(output, e.Directory, $"{e.Stem}.age{age}.{e.Extension}"));
                    Assert.Equal(e.Format, ImageSniffer.SniffFormat(bytes));
                    using var image = Image.NewFromBuffer(bytes);
                    Assert.True((e.Width, e.Height) == (image.Width, image.Height),
                        $"{e.Directory}/{e.Stem} age {age}: {image.Width}×{image.Height}, expected the input's {e.Width}×{e.Height}");
                    Assert.False(image.Contains("orientation") && Convert.ToInt32(image.Get("orientation")) != 1, "outputs carry no rotation");
                }
            }

            // The EXIF-rotated JPEG comes out upright: width and height swapped back, red band on top.
            using var aged = Image.NewFromFile(Path.Combine(output, "rotated.age50.jpg"));
            Assert.Equal((upright.Width, upright.Height), (aged.Width, aged.Height));
            using var upsideDown = upright.Rot(Enums.Angle.D180);
            var toUpright = TestImages.MeanDifference(aged, upright);
            var toUpsideDown = TestImages.MeanDifference(aged, upsideDown);
            Assert.True(toUpright < toUpsideDown * 0.6, $"mean difference to upright {toUpright:0.0}, to upside down {toUpsideDown:0.0}");
            if (TestModel.IsTestModel)
            {
                // The analytic test model changes nothing at age 50: only JPEG loss remains.
                Assert.True(toUpright < 8, $"mean difference to the input {toUpright:0.0}");
            }

            var stamps = expectedNames.ToDictionary(n => n, n => File.GetLastWriteTimeUtc(Path.Combine(output, n)));
            var second = await AgeAsync(input, output, "--json");
            Assert.True(second.ExitCode == 12, second.ToString());
            var counts = second.Json.GetProperty("counts");
            Assert.Equal((0, 11, 1, 0), (counts.GetProperty("done").GetInt32(), counts.GetProperty("skipped").GetInt32(),
                counts.GetProperty("failed").GetInt32(), counts.GetProperty("outputsWritten").GetInt32()));
            Assert.All(second.Json.GetProperty("files").EnumerateArray().Where(f => f.GetProperty("result").GetString() == "skipped"),
                f => Assert.Equal("outputs already exist", f.GetProperty("reason").GetString()));
            Assert.All(stamps, s => Assert.Equal(s.Value, File.GetLastWriteTimeUtc(Path.Combine(output, s.Key))));

            // The human summary: a table with the counts and the failure's code and exit code.
            var third = await AgeAsync(input, output);
            Assert.Equal(12, third.ExitCode);
            Assert.Contains("Summary", third.Stdout);
            Assert.Matches(@"skipped\s*│\s*outputs already exist\s*│\s*11", third.Stdout);
            Assert.Matches(@"failed\s*│\s*CorruptImage\s*│\s*1\s*│\s*12", third.Stdout);
            Assert.Contains("next (CorruptImage):", third.Stdout);
            Assert.Contains("0 done, 11 skipped, 1 failed", third.Stdout);
        }
    }

    [Fact]
    public async Task Adding_an_age_computes_only_that_age_and_rewrites_the_contact_sheet()
    {
        var input = _temp.Combine("in");
        var output = _temp.Combine("out");
        using (var image = TestImages.CharacterImage(2, 96, 80))
        {
            TestImages.Write(Path.Combine(input, "solo.png"), TestImages.Png(image));
        }
        var first = await CliRun.InProcessAsync("age", input, "--ages", "30", "--out", output, "--models", TestModel.Root, "--model", TestModel.Name, "--json");
        Assert.True(first.ExitCode == 0, first.ToString());
        var age30 = File.GetLastWriteTimeUtc(Path.Combine(output, "solo.age30.png"));

        var second = await CliRun.InProcessAsync("age", input, "--ages", "30,60", "--out", output, "--models", TestModel.Root, "--model", TestModel.Name, "--json");

        Assert.True(second.ExitCode == 0, second.ToString());
        var written = second.Json.GetProperty("files")[0].GetProperty("outputs").EnumerateArray().Select(o => o.GetString()).ToList();
        Assert.Equal(["solo.age60.png", "solo.contact.png"], written);
        Assert.Equal(age30, File.GetLastWriteTimeUtc(Path.Combine(output, "solo.age30.png")));
        // Tiles are scaled to 384 pixels high (96 × 80 → 461 wide): three tiles now (input, 30, 60), two before.
        using var sheet = Image.NewFromFile(Path.Combine(output, "solo.contact.png"));
        Assert.True(sheet.Width >= 3 * 460, $"the sheet is {sheet.Width} wide; it should hold the input and both ages");
    }

    [Fact]
    public async Task Errors_say_what_to_do_and_map_to_exit_codes()
    {
        var input = _temp.Combine("in");
        Directory.CreateDirectory(input);

        var usage = await CliRun.InProcessAsync("age", input, "--ages", "20");
        Assert.Equal(2, usage.ExitCode);
        Assert.Contains("--out", usage.Stderr);
        Assert.Contains("next: see 'aging age --help'", usage.Stderr);

        var ages = await CliRun.InProcessAsync("age", input, "--ages", "20,200", "--out", _temp.Combine("o"), "--models", TestModel.Root, "--model", TestModel.Name);
        Assert.Equal(16, ages.ExitCode);
        Assert.Contains("200", ages.Stderr);
        Assert.Contains("next:", ages.Stderr);

        var model = await CliRun.InProcessAsync("age", input, "--ages", "20", "--out", _temp.Combine("o"), "--models", TestModel.Root, "--model", "no-such-model", "--json");
        Assert.Equal(18, model.ExitCode);
        var error = model.Json.GetProperty("error");
        Assert.Equal("ModelNotFound", error.GetProperty("code").GetString());
        Assert.Equal(18, error.GetProperty("exitCode").GetInt32());
        Assert.Contains("aging models", error.GetProperty("nextStep").GetString());

        var missing = await CliRun.InProcessAsync("age", _temp.Combine("nowhere"), "--ages", "20", "--out", _temp.Combine("o"));
        Assert.Equal(17, missing.ExitCode);
        Assert.Contains("does not exist", missing.Stderr);
    }

    /// <summary>Issue 15: an empty file gets the code and message that every entry gives it (the upload API, the
    /// ingest function and the runner use the same <c>ImageSniffer.EmptyContent</c>).</summary>
    [Fact]
    public async Task An_empty_image_file_fails_with_UnsupportedFormat_saying_the_file_is_empty()
    {
        var input = _temp.Combine("in");
        Directory.CreateDirectory(input);
        File.WriteAllBytes(Path.Combine(input, "empty.png"), []);

        var result = await CliRun.InProcessAsync("age", input, "--ages", "20", "--out", _temp.Combine("o"), "--models", TestModel.Root, "--model", TestModel.Name, "--json");

        var file = result.Json.GetProperty("files").EnumerateArray().Single();
        Assert.Equal("failed", file.GetProperty("result").GetString());
        Assert.Equal("UnsupportedFormat", file.GetProperty("code").GetString());
        Assert.Equal("The file is empty.", file.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task Models_lists_served_models_with_manifest_details_and_skipped_folders_with_reasons()
    {
        var root = _temp.Combine("models");
        CopyDirectory(Path.Combine(RepoPaths.Root, "tests", "fixtures", "models", "test-ager", "1"), Path.Combine(root, "test-ager", "1"));
        var broken = Path.Combine(root, "test-ager", "2");
        CopyDirectory(Path.Combine(RepoPaths.Root, "tests", "fixtures", "models", "test-ager", "1"), broken);
        File.WriteAllText(Path.Combine(broken, "model.json"), File.ReadAllText(Path.Combine(broken, "model.json")).Replace("\"version\": \"1\"", "\"version\": \"2\"", StringComparison.Ordinal));
        File.AppendAllText(Path.Combine(broken, "model.onnx"), "tampered");

        var result = await CliRun.InProcessAsync("models", "--models", root, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        var models = result.Json.GetProperty("models").EnumerateArray().ToList();
        Assert.Equal(2, models.Count);
        var served = models.Single(m => m.GetProperty("version").GetString() == "1");
        Assert.True(served.GetProperty("served").GetBoolean());
        Assert.Equal(32, served.GetProperty("inputWidth").GetInt32());
        Assert.Equal("residual", served.GetProperty("outputKind").GetString());
        Assert.Equal(90, served.GetProperty("conditions")[0].GetProperty("max").GetDouble());
        var skipped = models.Single(m => m.GetProperty("version").GetString() == "2");
        Assert.False(skipped.GetProperty("served").GetBoolean());
        Assert.Contains(skipped.GetProperty("problems").EnumerateArray(), p => p.GetString()!.Contains("sha256", StringComparison.OrdinalIgnoreCase) || p.GetString()!.Contains("SHA-256", StringComparison.Ordinal));

        var table = await CliRun.InProcessAsync("models", "--models", root);
        Assert.Equal(0, table.ExitCode);
        Assert.Contains("test-ager/2 is skipped:", table.Stdout);
        Assert.Contains("licence: CC0-1.0", table.Stdout);
    }

    public void Dispose() => _temp.Dispose();

    private static Task<CliResult> AgeAsync(string input, string output, params string[] extra) =>
        CliRun.InProcessAsync(["age", input, "--ages", string.Join(',', s_ages), "--out", output, "--models", TestModel.Root, "--model", TestModel.Name, "--jobs", "2", .. extra]);

    /// <summary>Twelve inputs: nested folders, PNG/JPEG/WebP (one with alpha, one lossless), one truncated JPEG and
    /// one JPEG stored rotated with EXIF orientation 6.</summary>
    private static (List<Expected> Expected, Image Upright) BuildInputs(string root)
    {
        var expected = new List<Expected>();
        void Add(string directory, string name, int index, int width, int height, ImageFormat format, Func<Image, byte[]> encode, Func<Image, Image>? transform = null)
        {
            using var character = TestImages.CharacterImage(index, width, height);
            using var image = transform?.Invoke(character) ?? character.Copy();
            TestImages.Write(Path.Combine(root, directory, name), encode(image));
            expected.Add(new Expected(directory, BlobNames.SafeStem(name), BlobNames.ExtensionFor(format), width, height, format));
        }

        Add(string.Empty, "01.png", 0, 128, 128, ImageFormat.Png, TestImages.Png);
        Add(string.Empty, "02.jpg", 1, 160, 120, ImageFormat.Jpeg, i => TestImages.Jpeg(i, 90));
        Add(string.Empty, "03.webp", 2, 120, 160, ImageFormat.WebP, i => TestImages.WebP(i));
        Add("nested/a", "04.png", 4, 100, 140, ImageFormat.Png, TestImages.Png, TestImages.WithAlpha);
        Add("nested/a", "05.jpg", 5, 128, 96, ImageFormat.Jpeg, i => TestImages.Jpeg(i, 80));
        Add("nested/a", "06.webp", 6, 96, 96, ImageFormat.WebP, i => TestImages.WebP(i, lossless: true));
        Add("nested/a/b", "07.png", 7, 144, 108, ImageFormat.Png, TestImages.Png);
        Add("nested/a/b", "08.jpeg", 8, 112, 150, ImageFormat.Jpeg, i => TestImages.Jpeg(i, 90));
        Add("nested/a/b", "09.webp", 9, 150, 100, ImageFormat.WebP, i => TestImages.WebP(i));
        Add("nested/c", "10.PNG", 10, 90, 120, ImageFormat.Png, TestImages.Png);

        var upright = TestImages.Marked(3, 200, 120);
        var rotated = TestImages.JpegWithOrientation6(upright);
        TestImages.Write(Path.Combine(root, "rotated.jpg"), rotated);
        expected.Add(new Expected(string.Empty, "rotated", "jpg", 200, 120, ImageFormat.Jpeg));

        using (var whole = TestImages.CharacterImage(11, 160, 120))
        {
            var jpeg = TestImages.Jpeg(whole, 90);
            TestImages.Write(Path.Combine(root, "broken.jpg"), jpeg[..(jpeg.Length * 2 / 5)]);
        }
        Assert.Equal(12, Directory.GetFiles(root, "*", SearchOption.AllDirectories).Length);
        var header = new AgingPipeline.Imaging.ImageHeaderReader(new AgingPipeline.Imaging.ImagingOptions()).Read(rotated);
        Assert.Equal((6, 200, 120), (header.Orientation, header.Width, header.Height));
        return (expected, upright);
    }

    private static string Rel(string directory, string name) => directory.Length == 0 ? name : $"{directory}/{name}";

    private static List<string> ListFiles(string root) =>
        [.. Directory.GetFiles(root, "*", SearchOption.AllDirectories)
            .Select(p => Path.GetRelativePath(root, p).Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal)];

    private static void CopyDirectory(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }
    }
}
