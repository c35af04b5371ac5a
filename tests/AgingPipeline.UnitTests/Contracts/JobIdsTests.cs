using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class JobIdsTests
{
    [Fact]
    public void The_same_blob_and_etag_always_give_the_same_id_whatever_the_quoting()
    {
        var quoted = JobIds.FromBlob("uploads", "b/cat.png", "\"0x8DC1\"");
        var bare = JobIds.FromBlob("uploads", "b/cat.png", "0x8DC1");
        Assert.Equal(quoted, bare);
        Assert.Equal(26, quoted.Length);
        Assert.True(JobIds.IsWellFormed(quoted));
        Assert.Equal("xdnv55ez3uzawkxbnvlpns3brf", JobIds.FromBlob("uploads", "a.png", "0x1"));
    }

    [Theory]
    [InlineData("uploads", "b/cat.png", "0x8DC2")]
    [InlineData("uploads", "b/cat2.png", "0x8DC1")]
    [InlineData("other", "b/cat.png", "0x8DC1")]
    public void Any_difference_gives_another_id(string container, string blob, string etag) =>
        Assert.NotEqual(JobIds.FromBlob("uploads", "b/cat.png", "0x8DC1"), JobIds.FromBlob(container, blob, etag));

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("abc-123", true)]
    [InlineData("ABC", false)]
    [InlineData("../x", false)]
    [InlineData("a/b", false)]
    public void Well_formed_ids_are_lowercase_letters_digits_and_dashes(string? id, bool expected) =>
        Assert.Equal(expected, JobIds.IsWellFormed(id));

    [Fact]
    public void Ids_longer_than_64_characters_are_not_well_formed() =>
        Assert.False(JobIds.IsWellFormed(new string('a', 65)));

    [Fact]
    public void Empty_parts_are_refused() =>
        Assert.Throws<ArgumentException>(() => JobIds.FromBlob("uploads", "", "0x1"));
}
