/**
 * Opening an archive target from its URL. `file:///path` is a directory (./directory.ts);
 * `s3://` is not built into this release. One function, so that adding a kind is one line.
 */
import { ErrorCode, EvidentError } from '../core/errors.ts';
import { openDirectoryTarget } from './directory.ts';
import type { ArchiveTarget } from './target.ts';

export async function openArchiveTarget(url: string): Promise<ArchiveTarget> {
  if (url.startsWith('file://')) return openDirectoryTarget(url);
  if (url.startsWith('s3://')) {
    throw new EvidentError(ErrorCode.USAGE, 'S3 targets are not built in this release', {
      field: 'url',
      rule: 'target_kind',
      url,
    });
  }
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
