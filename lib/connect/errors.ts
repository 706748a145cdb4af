/** The errors of the Connect feature: task templates, instances and the limits table. */
import { ServiceError } from '#lib/errors.ts';

/** The template does not exist in the instance. Permanent: retrying cannot help. */
export class TemplateNotFoundError extends ServiceError {
  override readonly name: string = 'TemplateNotFoundError';
  readonly code: string = 'TemplateNotFound';
  readonly permanent = true;
  constructor(
    readonly instanceId: string,
    readonly templateId: string,
    options?: ErrorOptions,
  ) {
    super(`task template ${templateId} does not exist in instance ${instanceId}`, options);
  }
}

/** A template name that names more than one template of the instance. */
export class TemplateLookupError extends ServiceError {
  override readonly name: string = 'TemplateLookupError';
  readonly code: string = 'TemplateLookupError';
  readonly permanent = true;
}

/** A list of Connect instance ids (CONNECT_INSTANCE_IDS, `connectInstanceIds`) that is empty or malformed. */
export class InstanceListError extends ServiceError {
  override readonly name: string = 'InstanceListError';
  readonly code: string = 'InstanceListError';
  readonly permanent = true;
}

/** `CONNECT_LIMITS` (or an override object) is not a valid partial limits table. */
export class LimitsConfigError extends ServiceError {
  override readonly name: string = 'LimitsConfigError';
  readonly code: string = 'LimitsConfigError';
  readonly permanent = true;
}
