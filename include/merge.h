/*
 * merge.h - stampede merge: add result files (shards) into one result,
 * histograms bin by bin, counters field by field; thresholds judged on the
 * merge.
 */
#ifndef STAMPEDE_MERGE_H
#define STAMPEDE_MERGE_H

#include "ci.h"

/* stampede merge FILE... [--json OUT] [--html OUT] [-q]; the CI flags
 * (--threshold, --junit, --summary-md) are already in `ci`. Returns the
 * exit code. */
int merge_cmd(int argc, char **argv, struct ci_opts *ci);

#endif
