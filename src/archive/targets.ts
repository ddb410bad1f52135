/**
 * Opening an archive target from its URL. `file:///path` is a directory (./directory.ts);
 * `s3://bucket/prefix?endpoint=...&region=...` is S3 under Object Lock (./s3.ts). One function,
 * so that adding a kind is one line.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { openDirectoryTarget } from './directory.ts';
import { openS3Target } from './s3.ts';
import type { ArchiveTarget } from './target.ts';

export interface OpenTargetOptions {
  /**
   * Only read (`archive verify`, `restore`): an S3 bucket need not have Object Lock, because
   * verification hashes every object against manifests and signed checkpoints and never relies on
   * the lock. Writing (`archive run`, `archive target add`) always requires it.
   */
  readOnly?: boolean;
}

export async function openArchiveTarget(
  url: string,
  options: OpenTargetOptions = {},
): Promise<ArchiveTarget> {
  if (url.startsWith('file://')) return openDirectoryTarget(url);
  if (url.startsWith('s3://')) return openS3Target(url, { readOnly: options.readOnly === true });
  throw new EvidentError(
    ErrorCode.USAGE,
    'an archive target URL starts with file:// (a directory) or s3://',
    {
      field: 'url',
      rule: 'target_kind',
      url,
    },
  );
}
