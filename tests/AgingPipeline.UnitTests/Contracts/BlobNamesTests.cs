using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class BlobNamesTests
{
    [Theory]
    [InlineData("cat.png", "cat")]
    [InlineData("batch/sub/cat.final.png", "cat_final")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("..\\..\\windows\\win.ini", "win")]
    [InlineData("Zoë \u202Eevil\u0007.png", "Zo_evil")]
    [InlineData("日本語.png", "image")]
    [InlineData("...", "image")]
    [InlineData(".hidden", "hidden")]
    [InlineData("a b  c.jpg", "a_b_c")]
    [InlineData("-_-.png", "-_-")]
    public void SafeStem_keeps_only_safe_characters(string input, string expected) =>
        Assert.Equal(expected, BlobNames.SafeStem(input));

    [Fact]
    public void SafeStem_is_at_most_80_characters()
    {
        var stem = BlobNames.SafeStem(new string('x', 500) + ".png");
        Assert.Equal(80, stem.Length);
        Assert.All(stem, c => Assert.Equal('x', c));
    }

    [Fact]
    public void Output_names_live_under_the_job_and_never_leave_it()
    {
        Assert.Equal("job1/cat.age40.png", BlobNames.AgedOutput("job1", "b/cat.png", 40, "png"));
        Assert.Equal("job1/passwd.contact.jpg", BlobNames.ContactSheet("job1", "../../passwd", "jpg"));
        Assert.Equal("batches/b1/job1", BlobNames.BatchMember("b1", "job1"));
        Assert.StartsWith(BlobNames.BatchPrefix("b1"), BlobNames.BatchMember("b1", "job1"));
        Assert.Equal("job1.json", BlobNames.JobRecord("job1"));
    }

    [Fact]
    public void Extensions_follow_the_sniffed_format()
    {
        Assert.Equal("jpg", BlobNames.ExtensionFor(ImageFormat.Jpeg));
        Assert.Equal("webp", BlobNames.ExtensionFor(ImageFormat.WebP));
        Assert.Throws<ArgumentOutOfRangeException>(() => BlobNames.ExtensionFor(ImageFormat.Unknown));
    }
}
