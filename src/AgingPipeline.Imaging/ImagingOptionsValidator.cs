using AgingPipeline.Contracts;
using Microsoft.Extensions.Options;

namespace AgingPipeline.Imaging;

/// <summary>Validates <see cref="ImagingOptions"/> when the host starts (<c>ValidateOnStart</c>).</summary>
public sealed class ImagingOptionsValidator : IValidateOptions<ImagingOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ImagingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

/// <summary>Validates <see cref="InputLimits"/> when the host starts (<c>ValidateOnStart</c>).</summary>
public sealed class InputLimitsValidator : IValidateOptions<InputLimits>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, InputLimits options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
