using System.Text.RegularExpressions;

namespace AgingPipeline.UnitTests.Imaging;

/// <summary>The corpus rule of <see cref="TestCorpus"/> (AGING_CORPUS, else ../shared/corpus, else the committed
/// subset) and the committed subset itself: named in its README, and a faithful copy of the corpus.</summary>
public sealed class TestCorpusTests : IDisposable
{
    private readonly string _scratch = Directory.CreateTempSubdirectory("aging-corpus-").FullName;

    public void Dispose() => Directory.Delete(_scratch, recursive: true);

    [Fact]
    public void AGING_CORPUS_wins_over_the_sibling_and_the_subset()
    {
        var (variable, sibling, subset) = (Corpus("variable"), Corpus("sibling"), Corpus("subset"));

        Assert.Equal((variable, CorpusSource.Environment), TestCorpus.Resolve(variable, sibling, subset));
    }

    [Fact]
    public void The_sibling_is_used_when_it_exists_and_the_committed_subset_otherwise()
    {
        var subset = Corpus("subset");
        var sibling = Path.Combine(_scratch, "sibling");

        Assert.Equal((subset, CorpusSource.Subset), TestCorpus.Resolve(null, sibling, subset));
        Assert.Equal((subset, CorpusSource.Subset), TestCorpus.Resolve("", sibling, subset));

        Corpus("sibling");
        Assert.Equal((sibling, CorpusSource.Sibling), TestCorpus.Resolve(null, sibling, subset));
    }

    [Fact]
    public void An_AGING_CORPUS_without_pillow_test_images_fails_instead_of_falling_back()
    {
        var error = Assert.Throws<DirectoryNotFoundException>(() => TestCorpus.Resolve(_scratch, Corpus("sibling"), Corpus("subset")));

        Assert.Contains("AGING_CORPUS", error.Message, StringComparison.Ordinal);
        Assert.Contains(TestCorpus.ImagesFolder, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_missing_from_the_subset_names_the_readme_to_update()
    {
        var error = Assert.Throws<FileNotFoundException>(() => TestCorpus.ReadFile("no-such-file.png"));

        Assert.Contains("tests/fixtures/corpus/README.md", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_resolved_corpus_is_the_sibling_when_it_exists_and_otherwise_never_missing()
    {
        var expected = Environment.GetEnvironmentVariable(TestCorpus.Variable) is { Length: > 0 }
            ? CorpusSource.Environment
            : Directory.Exists(Path.Combine(TestCorpus.SiblingRoot, TestCorpus.ImagesFolder)) ? CorpusSource.Sibling : CorpusSource.Subset;

        Assert.Equal(expected, TestCorpus.Source);
        Assert.NotEmpty(TestCorpus.Files);
    }

    [Fact]
    public void Every_file_of_the_committed_subset_is_named_in_its_readme_and_every_named_file_is_there()
    {
        var readme = File.ReadAllText(Path.Combine(TestCorpus.SubsetRoot, "README.md"));
        // One table row per file: | `apng/delay.png` | …
        var named = Regex.Matches(readme, @"^\| `([^`]+)` \|", RegexOptions.Multiline).Select(m => m.Groups[1].Value).Order(StringComparer.Ordinal).ToList();
        var images = Path.Combine(TestCorpus.SubsetRoot, TestCorpus.ImagesFolder);
        var present = TestCorpus.SubsetFiles.Select(f => Path.GetRelativePath(images, f).Replace('\\', '/')).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(present, named);
    }

    [Fact]
    public void Every_file_of_the_committed_subset_is_a_byte_for_byte_copy_of_the_sibling_corpus()
    {
        var sibling = Path.Combine(TestCorpus.SiblingRoot, TestCorpus.ImagesFolder);
        if (!Directory.Exists(sibling))
        {
            return; // A clone alone: nothing to compare with.
        }
        var images = Path.Combine(TestCorpus.SubsetRoot, TestCorpus.ImagesFolder);
        Assert.All(TestCorpus.SubsetFiles, file =>
        {
            var original = Path.Combine(sibling, Path.GetRelativePath(images, file));
            Assert.True(File.Exists(original), $"{original} is not in the corpus");
            Assert.Equal(File.ReadAllBytes(original), File.ReadAllBytes(file));
        });
    }

    /// <summary>A corpus folder under the scratch folder: <c>{name}/pillow-test-images/</c>.</summary>
    private string Corpus(string name)
    {
        var root = Path.Combine(_scratch, name);
        Directory.CreateDirectory(Path.Combine(root, TestCorpus.ImagesFolder));
        return root;
    }
}
