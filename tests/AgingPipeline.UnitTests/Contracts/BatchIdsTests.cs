using AgingPipeline.Contracts;

namespace AgingPipeline.UnitTests.Contracts;

public sealed class BatchIdsTests
{
    [Fact]
    public void Issued_ids_are_26_base32_characters_safe_as_blob_folders_and_never_repeat()
    {
        var ids = Enumerable.Range(0, 2000).Select(_ => BatchIds.New()).ToList();
        Assert.All(ids, id =>
        {
            Assert.True(BatchIds.IsIssuedShape(id), id);
            Assert.True(JobIds.IsWellFormed(id), id);
        });
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
        Assert.False(BatchIds.IsIssuedShape("holiday-2026"));
        Assert.False(BatchIds.IsIssuedShape(new string('a', 25)));
    }

    [Fact]
    public void A_token_matches_only_its_own_hash()
    {
        var token = BatchIds.NewToken();
        var hash = BatchIds.HashToken(token);
        Assert.Equal(43, token.Length);
        Assert.Equal(64, hash.Length);
        Assert.DoesNotContain(token, hash, StringComparison.Ordinal);
        Assert.True(BatchIds.TokenMatches(token, hash));
        Assert.False(BatchIds.TokenMatches(BatchIds.NewToken(), hash));
        Assert.False(BatchIds.TokenMatches(token[..^1], hash));
        Assert.False(BatchIds.TokenMatches(null, hash));
        Assert.False(BatchIds.TokenMatches(token, null));
        Assert.False(BatchIds.TokenMatches(token, "not hex"));
        Assert.False(BatchIds.TokenMatches(new string('x', 10_000), hash));
        Assert.True(new BatchRecord { BatchId = BatchIds.New(), TokenSha256 = hash }.Admits(token));
    }
}
