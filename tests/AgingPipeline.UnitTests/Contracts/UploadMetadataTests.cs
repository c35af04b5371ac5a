using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class UploadMetadataTests
{
    [Theory]
    [InlineData("20,40,60", new[] { 20, 40, 60 })]
    [InlineData(" 60; 20 40 ,20", new[] { 20, 40, 60 })]
    [InlineData("5", new[] { 5 })]
    public void Ages_are_parsed_sorted_and_deduplicated(string text, int[] expected)
    {
        Assert.True(UploadMetadata.TryParseAges(text, 5, 90, 8, out var ages, out var error));
        Assert.Null(error);
        Assert.Equal(expected, ages);
    }

    [Theory]
    [InlineData(null, "No target ages")]
    [InlineData("  ", "No target ages")]
    [InlineData(",,", "No target ages")]
    [InlineData("20,abc", "'abc' is not a whole number")]
    [InlineData("4", "outside the supported range")]
    [InlineData("91", "outside the supported range")]
    [InlineData("1e3", "not a whole number")]
    [InlineData("10,20,30", "At most 2")]
    public void Bad_ages_are_refused_with_a_reason(string? text, string reason)
    {
        Assert.False(UploadMetadata.TryParseAges(text, 5, 90, 2, out var ages, out var error));
        Assert.Empty(ages);
        Assert.Contains(reason, error);
    }

    [Theory]
    [InlineData("cat.png")]
    [InlineData("Zoë & Chloé (final) 100%.png")]
    [InlineData("日本語の名前.webp")]
    public void Original_names_round_trip_through_ascii_metadata(string name)
    {
        var encoded = UploadMetadata.EncodeOriginalName(name);
        Assert.All(encoded, c => Assert.True(c < 128));
        Assert.Equal(name, UploadMetadata.DecodeOriginalName(encoded));
    }

    [Fact]
    public void Original_names_lose_folders_control_and_bidi_characters_and_are_bounded()
    {
        Assert.Equal("passwd", UploadMetadata.DecodeOriginalName(UploadMetadata.EncodeOriginalName("../../etc/passwd")));
        Assert.Equal("ab.png", UploadMetadata.DecodeOriginalName(UploadMetadata.EncodeOriginalName("a\u0000\u202Eb\r\n.png")));
        Assert.Equal(UploadMetadata.MaxOriginalNameLength, UploadMetadata.DecodeOriginalName(UploadMetadata.EncodeOriginalName(new string('n', 1000)))!.Length);
        Assert.Equal("%E0%A4%A", UploadMetadata.DecodeOriginalName("%E0%A4%A"));
        Assert.Null(UploadMetadata.DecodeOriginalName(null));
    }

    [Theory]
    [InlineData("character-ager", true)]
    [InlineData("v2", true)]
    [InlineData("Character", false)]
    [InlineData("-ager", false)]
    [InlineData("ager-", false)]
    [InlineData("a--b", false)]
    [InlineData("../x", false)]
    [InlineData("", false)]
    public void Model_names(string name, bool valid) => Assert.Equal(valid, UploadMetadata.IsValidModelName(name));

    [Theory]
    [InlineData("1", true)]
    [InlineData("42", true)]
    [InlineData("0", false)]
    [InlineData("01", false)]
    [InlineData("-1", false)]
    [InlineData("1.0", false)]
    public void Model_versions(string version, bool valid) => Assert.Equal(valid, UploadMetadata.IsValidModelVersion(version));
}
