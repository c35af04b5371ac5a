using System.Text.Json;
using AgingPipeline.Inference;

namespace AgingPipeline.UnitTests.Inference;

public sealed class ModelManifestValidatorTests
{
    private static readonly ModelManifest s_good = ModelFixtures.AgerManifest;

    [Fact]
    public void The_fixture_manifests_are_valid()
    {
        Assert.Empty(ModelManifestValidator.Validate(s_good, "test-ager", "1"));
        Assert.Empty(ModelManifestValidator.Validate(ModelFixtures.EstimatorManifest, "test-estimator", "1"));
    }

    [Fact]
    public void Parses_the_commented_example_of_the_readme()
    {
        const string json = """
            {
              "schemaVersion": 1,
              "name": "character-ager",          // must equal the folder name
              "version": 1,                      // a number is accepted too
              "kind": "age-transform",
              "file": "model.onnx",
              "sha256": "0000000000000000000000000000000000000000000000000000000000000000",
              "opset": 17,
              "input": { "name": "image", "layout": "NCHW", "channels": 3, "height": 128, "width": 128, "range": [-1.0, 1.0] },
              "conditions": [
                { "name": "target_age", "role": "target-age", "unit": "years", "scale": 0.01, "min": 5, "max": 90 }
              ],
              "output": { "name": "residual", "kind": "residual", "range": [-1.0, 1.0] },
              "maxBatch": 32,
              "licence": "MIT",
              "trainingData": "synthetic pairs",
              "evaluation": { "l1": 0.05 },
            }
            """;
        var manifest = ModelManifest.Parse(json);
        Assert.Equal("1", manifest.Version);
        Assert.Equal(1, manifest.VersionNumber);
        Assert.Equal(128, manifest.Input!.Height);
        Assert.Equal(0.01, manifest.FindCondition("target-age")!.Scale);
        Assert.Empty(ModelManifestValidator.Validate(manifest, "character-ager", "1"));
    }

    public static TheoryData<string, Func<ModelManifest, ModelManifest>, string> BadCases => new()
    {
        { "schema", m => m with { SchemaVersion = 2 }, "schemaVersion 2 is not supported" },
        { "schema missing", m => m with { SchemaVersion = null }, "schemaVersion is missing" },
        { "name", m => m with { Name = "Character_Ager" }, "lowercase letters, digits and '-'" },
        { "version", m => m with { Version = "v1" }, "version 'v1' must be a positive integer" },
        { "version zero", m => m with { Version = "0" }, "must be a positive integer" },
        { "kind", m => m with { Kind = "age-guesser" }, "kind 'age-guesser' is unknown" },
        { "file path", m => m with { File = "../model.onnx" }, "plain file name" },
        { "file extension", m => m with { File = "model.bin" }, "must end with '.onnx'" },
        { "sha", m => m with { Sha256 = "abc" }, "64 hexadecimal digits" },
        { "opset", m => m with { Opset = 11 }, "below the minimum 17" },
        { "input missing", m => m with { Input = null }, "input is missing" },
        { "layout", m => m with { Input = m.Input! with { Layout = "NHWC" } }, "only NCHW" },
        { "channels", m => m with { Input = m.Input! with { Channels = 4 } }, "only 3" },
        { "height", m => m with { Input = m.Input! with { Height = 5000 } }, "input.height 5000" },
        { "width missing", m => m with { Input = m.Input! with { Width = null } }, "input.width is missing" },
        { "input range", m => m with { Input = m.Input! with { Range = [0.0, 1.0] } }, "input.range must be [-1.0, 1.0]" },
        { "conditions missing", m => m with { Conditions = null }, "conditions is missing" },
        { "no target age", m => m with { Conditions = [] }, "needs a condition with role 'target-age'" },
        { "role", m => m with { Conditions = [m.Conditions![0] with { Role = "mood" }] }, "role 'mood' is unknown" },
        { "unit", m => m with { Conditions = [m.Conditions![0] with { Unit = "months" }] }, "only 'years'" },
        { "scale", m => m with { Conditions = [m.Conditions![0] with { Scale = 0 }] }, "scale must be a positive number" },
        { "min max", m => m with { Conditions = [m.Conditions![0] with { Min = 90, Max = 5 }] }, "0 ≤ min < max ≤ 150" },
        { "duplicate", m => m with { Conditions = [m.Conditions![0], m.Conditions![0]] }, "is used twice" },
        { "output missing", m => m with { Output = null }, "output is missing" },
        { "output kind", m => m with { Output = m.Output! with { Kind = "age-years" } }, "does not fit an age-transform model" },
        { "output range", m => m with { Output = m.Output! with { Range = [0.0, 255.0] } }, "output.range of a residual must be symmetric" },
        { "max batch", m => m with { MaxBatch = 0 }, "maxBatch 0 must be from 1 to 1024" },
        { "licence", m => m with { Licence = " " }, "licence is missing" },
        { "training data", m => m with { TrainingData = null }, "trainingData is missing" },
        { "evaluation", m => m with { Evaluation = JsonDocument.Parse("[1, 2]").RootElement }, "evaluation must be an object" },
        { "estimator conditions", m => m with { Kind = "age-estimator", Output = m.Output! with { Kind = "age-years", Range = [0.0, 100.0] } }, "takes no conditions" },
    };

    [Theory]
    [MemberData(nameof(BadCases))]
    public void Reports_each_bad_field(string label, Func<ModelManifest, ModelManifest> edit, string expected)
    {
        var errors = ModelManifestValidator.Validate(edit(s_good));
        Assert.True(errors.Any(e => e.Contains(expected, StringComparison.Ordinal)), $"{label}: expected '{expected}' in [{string.Join(" | ", errors)}]");
    }

    [Fact]
    public void Reports_folder_mismatches()
    {
        var errors = ModelManifestValidator.Validate(s_good, "other-model", "2");
        Assert.Contains("name 'test-ager' does not match its folder 'other-model'.", errors);
        Assert.Contains("version '1' does not match its folder '2'.", errors);
    }

    [Fact]
    public void Lists_every_problem_of_an_empty_manifest_at_once()
    {
        var errors = ModelManifestValidator.Validate(ModelManifest.Parse("{}"));
        Assert.True(errors.Count >= 12, string.Join(" | ", errors));
        Assert.Contains("name is missing.", errors);
        Assert.Contains("sha256 is missing.", errors);
        Assert.Contains("maxBatch is missing.", errors);
    }

    [Fact]
    public void Accepts_a_graph_that_matches()
    {
        var errors = ModelManifestValidator.ValidateGraph(
            s_good,
            [new("image", typeof(float), [-1, 3, 32, 32]), new("target_age", typeof(float), [-1, 1])],
            [new("residual", typeof(float), [-1, 3, 32, 32])]);
        Assert.Empty(errors);
    }

    [Fact]
    public void Reports_every_graph_mismatch()
    {
        var errors = ModelManifestValidator.ValidateGraph(
            s_good,
            [new("img", typeof(float), [-1, 3, 32, 32]), new("target_age", typeof(double), [4, 1]), new("seed", typeof(float), [1])],
            [new("residual", typeof(float), [-1, 3, 64, 64])]);

        Assert.Contains(errors, e => e.Contains("no input named 'image'", StringComparison.Ordinal) && e.Contains("'img'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'target_age' is Double, expected float32", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'target_age' has a fixed batch axis", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'seed' that the manifest does not declare", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("output 'residual' has shape [N, 3, 64, 64], the manifest implies [N, 3, 32, 32]", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'img' that the manifest does not declare", StringComparison.Ordinal));
    }

    [Fact]
    public void Accepts_symbolic_output_dimensions_and_checks_ranks()
    {
        TensorSignature[] inputs = [new("image", typeof(float), [-1, 3, 32, 32]), new("target_age", typeof(float), [-1, 1])];
        Assert.Empty(ModelManifestValidator.ValidateGraph(s_good, inputs, [new("residual", typeof(float), [-1, 3, -1, -1])]));
        var errors = ModelManifestValidator.ValidateGraph(s_good, inputs, [new("residual", typeof(float), [-1, 3, 32])]);
        Assert.Contains(errors, e => e.Contains("rank 3", StringComparison.Ordinal));
    }

    [Fact]
    public void Checks_the_sha256_of_the_model_file()
    {
        var path = Path.Combine(ModelFixtures.AgerDirectory, "model.onnx");
        Assert.Null(ModelManifestValidator.ValidateSha256(s_good, path));

        var wrong = s_good with { Sha256 = new string('0', 64) };
        var problem = ModelManifestValidator.ValidateSha256(wrong, path);
        Assert.NotNull(problem);
        Assert.Contains("incomplete, replaced or corrupt", problem, StringComparison.Ordinal);

        Assert.Contains("does not exist", ModelManifestValidator.ValidateSha256(s_good, path + ".missing"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("character-ager", true)]
    [InlineData("a", true)]
    [InlineData("ager2", true)]
    [InlineData("ager-", false)]      // the repository once took this; the upload API never did
    [InlineData("-ager", false)]
    [InlineData("a--b", false)]
    [InlineData("Ager", false)]
    [InlineData("ager_2", false)]
    [InlineData("", false)]
    public void The_repository_and_the_upload_api_apply_one_model_name_rule(string name, bool valid)
    {
        Assert.Equal(valid, ModelManifestValidator.IsValidName(name));
        Assert.Equal(valid, AgingPipeline.Contracts.UploadMetadata.IsValidModelName(name));
    }

    [Fact]
    public void A_model_name_has_at_most_63_characters_everywhere()
    {
        var longest = new string('a', 63);
        Assert.True(ModelManifestValidator.IsValidName(longest));
        Assert.False(ModelManifestValidator.IsValidName(longest + "a"));
        Assert.False(AgingPipeline.Contracts.UploadMetadata.IsValidModelName(longest + "a"));
    }

    [Theory]
    [InlineData("1", true)]
    [InlineData("42", true)]
    [InlineData("0", false)]
    [InlineData("01", false)]
    [InlineData("+1", false)]
    [InlineData("1234567890", false)]
    public void The_repository_and_the_upload_api_apply_one_version_rule(string version, bool valid)
    {
        Assert.Equal(valid, ModelManifestValidator.IsValidVersion(version));
        Assert.Equal(valid, AgingPipeline.Contracts.UploadMetadata.IsValidModelVersion(version));
    }
}
