namespace AgingPipeline.EventPump;

/// <summary>A function app's answer as the pump logs it: its first 500 characters, cut only when the line is written
/// (a disabled log level costs nothing).</summary>
/// <param name="Text">The whole answer.</param>
internal readonly record struct ResponsePreview(string Text)
{
    private const int Length = 500;

    /// <inheritdoc />
    public override string ToString() => Text.Length <= Length ? Text : Text[..Length] + "…";
}
