using System.Security;
using AgingPipeline.Contracts;
using Microsoft.Extensions.Logging;
using NetVips;

namespace AgingPipeline.Imaging;

/// <summary>One labelled picture of a contact sheet.</summary>
/// <param name="Label">Caption under the picture, e.g. "input" or "age 40".</param>
/// <param name="Image">Encoded PNG, JPEG or WebP content.</param>
/// <param name="Preview">The picture already scaled to the tile height, when the caller had the pixels at hand (then
/// <paramref name="Image"/> is not decoded again).</param>
public sealed record ContactSheetTile(string Label, ReadOnlyMemory<byte> Image, ContactSheetPreview? Preview = null);

/// <summary>A picture scaled to fit a contact-sheet tile: 8-bit sRGB, 3 bands, transparency flattened.</summary>
/// <param name="Pixels">Interleaved RGB, row-major.</param>
/// <param name="Width">Width in pixels.</param>
/// <param name="Height">Height in pixels (the tile height, or less for a very wide picture).</param>
public sealed record ContactSheetPreview(byte[] Pixels, int Width, int Height)
{
    /// <summary>Scales full-resolution pixels into the tile box (<paramref name="tileHeight"/> high, up to four times as
    /// wide) and flattens alpha onto <paramref name="background"/>.</summary>
    internal static ContactSheetPreview Create(Image pixels, int tileHeight, double[] background)
    {
        using var thumbnail = pixels.ThumbnailImage(tileHeight * 4, tileHeight, Enums.Size.Both);
        using var flat = thumbnail.Bands == 4 ? thumbnail.Flatten(background) : thumbnail.Copy();
        using var uchar = flat.Format == Enums.BandFormat.Uchar ? flat.Copy() : flat.Cast(Enums.BandFormat.Uchar);
        return new ContactSheetPreview(uchar.WriteToMemory<byte>(), uchar.Width, uchar.Height);
    }
}

/// <summary>Renders the input and its aged versions side by side, each captioned, as one image.</summary>
/// <remarks>Tiles are decoded with shrink-on-load straight to <see cref="ImagingOptions.ContactSheetTileHeight"/>
/// (up to four times as wide), after the same header checks as any upload, so that a sheet of ten 40-megapixel
/// outputs stays small and cheap. Transparency is flattened onto <see cref="ImagingOptions.FlattenBackground"/>.
/// Captions are rendered by libvips (Pango); the host needs a font (e.g. Debian's <c>fonts-dejavu-core</c>).</remarks>
public sealed class ContactSheetRenderer
{
    private const string LoaderOptions = "fail_on=error";
    private const int Gap = 8;

    private readonly ImageHeaderReader _headerReader;
    private readonly ImageEncoder _encoder;
    private readonly double[] _background;

    /// <summary>Creates a renderer; initialises libvips for the process if nothing did yet.</summary>
    public ContactSheetRenderer(ImagingOptions options, ILoggerFactory? loggerFactory = null)
    {
        _headerReader = new ImageHeaderReader(options, loggerFactory);
        _encoder = new ImageEncoder(options);
        _background = [.. options.FlattenBackground.Select(v => (double)v)];
    }

    /// <summary>Renders the tiles left to right and encodes the sheet as <paramref name="format"/>.</summary>
    /// <exception cref="PipelineException">A tile is not an acceptable image, or libvips fails.</exception>
    public EncodedImage Render(IReadOnlyList<ContactSheetTile> tiles, ImageFormat format)
    {
        ArgumentNullException.ThrowIfNull(tiles);
        if (tiles.Count == 0)
        {
            throw new ArgumentException("A contact sheet needs at least one tile.", nameof(tiles));
        }
        var tileHeight = _headerReader.Options.ContactSheetTileHeight;
        var labelHeight = Math.Max(20, tileHeight / 8);
        var fontPixels = Math.Max(10, labelHeight * 5 / 9);
        var rendered = new List<Image>(tiles.Count);
        try
        {
            foreach (var tile in tiles)
            {
                rendered.Add(RenderTile(tile, tileHeight, labelHeight, fontPixels));
            }
            using var row = Image.Arrayjoin([.. rendered], across: rendered.Count, shim: Gap, background: _background, halign: Enums.Align.Centre, valign: Enums.Align.Centre);
            using var framed = row.Embed(Gap, Gap, row.Width + 2 * Gap, row.Height + 2 * Gap, Enums.Extend.Background, _background);
            using var srgb = framed.Copy(interpretation: Enums.Interpretation.Srgb);
            return _encoder.Encode(srgb, format);
        }
        catch (VipsException e)
        {
            throw VipsErrors.Internal("rendering the contact sheet", e);
        }
        finally
        {
            foreach (var image in rendered)
            {
                image.Dispose();
            }
        }
    }

    private Image RenderTile(ContactSheetTile tile, int tileHeight, int labelHeight, int fontPixels)
    {
        if (tile.Preview is { } preview)
        {
            using var scaled = Image.NewFromMemory(preview.Pixels, preview.Width, preview.Height, 3, Enums.BandFormat.Uchar);
            return Captioned(scaled, tile.Label, labelHeight, fontPixels);
        }
        var header = _headerReader.Read(tile.Image);
        Image picture;
        try
        {
            using var thumbnail = Image.ThumbnailBuffer(VipsBuffers.AsArray(tile.Image), tileHeight * 4, LoaderOptions, tileHeight, Enums.Size.Both);
            using var srgb = ImageDecoder.ToSrgb8(thumbnail);
            picture = srgb.Bands == 4 ? srgb.Flatten(_background) : srgb.Copy();
        }
        catch (VipsException e)
        {
            throw VipsErrors.Corrupt(header.Format, e);
        }
        using (picture)
        {
            return Captioned(picture, tile.Label, labelHeight, fontPixels);
        }
    }

    private Image Captioned(Image picture, string label, int labelHeight, int fontPixels)
    {
        using var caption = RenderCaption(label, picture.Width, labelHeight, fontPixels);
        return picture.Join(caption, Enums.Direction.Vertical, expand: true, background: _background, align: Enums.Align.Centre);
    }

    private Image RenderCaption(string label, int width, int height, int fontPixels)
    {
        // Text renders as a one-band mask (255 = ink); at 72 dpi a point is a pixel.
        using var mask = Image.Text(SecurityElement.Escape(label) ?? string.Empty, font: $"sans {fontPixels}", dpi: 72);
        using var ink = mask.Invert();
        using var placed = ink.Gravity(Enums.CompassDirection.Centre, width, height, Enums.Extend.Background, [255]);
        using var rgb = placed.Bandjoin(placed, placed);
        if (_background.All(v => v >= 255))
        {
            return rgb.Copy(interpretation: Enums.Interpretation.Srgb);
        }
        // On a non-white background: ink stays black, paper takes the background colour.
        using var paper = rgb.Linear([.. _background.Select(b => b / 255.0)], [0.0, 0.0, 0.0]);
        using var cast = paper.Cast(Enums.BandFormat.Uchar);
        return cast.Copy(interpretation: Enums.Interpretation.Srgb);
    }
}
