/**
 * Opening an archive target from its URL. `file:///path` is a directory (./directory.ts);
 * `s3://bucket/prefix?endpoint=...&region=...` is S3 under Object Lock (./s3.ts). One function,
 * so that adding a kind is one line.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { openDirectoryTarget } from './directory.ts';
import { openS3Target } from './s3.ts';
import type { ArchiveTarget } from './target.ts';

export async function openArchiveTarget(url: string): Promise<ArchiveTarget> {
  if (url.startsWith('file://')) return openDirectoryTarget(url);
  if (url.startsWith('s3://')) return openS3Target(url);
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
