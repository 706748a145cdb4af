/** The errors of the Connect feature: task templates, instances and the limits table. */
import { serviceError } from '#lib/errors.ts';

/** The template does not exist in the instance. Permanent: retrying cannot help. */
export class TemplateNotFoundError extends serviceError('TemplateNotFound', true, 'TemplateNotFoundError') {
  constructor(
    readonly instanceId: string,
    readonly templateId: string,
    options?: ErrorOptions,
  ) {
    super(`task template ${templateId} does not exist in instance ${instanceId}`, options);
  }
}

/** A template name that names more than one template of the instance. */
export class TemplateLookupError extends serviceError('TemplateLookupError', true) {}

/** A list of Connect instance ids (CONNECT_INSTANCE_IDS, `connectInstanceIds`) that is empty or malformed. */
export class InstanceListError extends serviceError('InstanceListError', true) {}

/** `CONNECT_LIMITS` (or an override object) is not a valid partial limits table. */
export class LimitsConfigError extends serviceError('LimitsConfigError', true) {}
