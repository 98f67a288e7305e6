#!/usr/bin/env python3
"""rgw.py: a second S3 client for the tests, on Debian's python3-botocore.

    rgw.py ENDPOINT AK SK mkbucket BUCKET [lock|versioned]
    rgw.py ENDPOINT AK SK uploads BUCKET        KEY UPLOAD-ID per line
    rgw.py ENDPOINT AK SK versions BUCKET PFX   KEY VERSION latest|old|marker
    rgw.py ENDPOINT AK SK lock BUCKET KEY       MODE RETAIN-UNTIL (HEAD), or
                                                "none"
    rgw.py ENDPOINT AK SK bucketlock BUCKET     Enabled|none
    rgw.py ENDPOINT AK SK delver BUCKET KEY VERSION [bypass]
                                                exit 3 when refused (403)
    rgw.py ENDPOINT AK SK policy BUCKET FILE    put a bucket policy
    rgw.py ENDPOINT AK SK put BUCKET KEY FILE   one PUT, exit 3 when refused
    rgw.py ENDPOINT AK SK abort BUCKET KEY UPLOAD-ID
    rgw.py ENDPOINT AK SK etag BUCKET KEY       the ETag HEAD reports
    rgw.py ENDPOINT AK SK putmany BUCKET PFX N  N small objects PFXf0001...
    rgw.py ENDPOINT AK SK get BUCKET KEY FILE   the object into FILE
    rgw.py ENDPOINT AK SK rm BUCKET KEY         a plain DELETE
    rgw.py ENDPOINT AK SK retain BUCKET KEY UNTIL [bypass]
                                                PutObjectRetention: GOVERNANCE
                                                until UNTIL (ISO 8601 UTC)

Path-style only (RGW has no rgw_dns_name by default); region us-east-1.
"""
import sys

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError


def client(endpoint, ak, sk):
    s = botocore.session.get_session()
    return s.create_client(
        's3', endpoint_url=endpoint, aws_access_key_id=ak,
        aws_secret_access_key=sk, region_name='us-east-1',
        config=Config(s3={'addressing_style': 'path'},
                      retries={'max_attempts': 1}))


def mkbucket(c, bucket, kind=''):
    args = {'Bucket': bucket}
    if kind == 'lock':
        args['ObjectLockEnabledForBucket'] = True
    c.create_bucket(**args)
    if kind == 'versioned':
        c.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={'Status': 'Enabled'})


def uploads(c, bucket):
    args = {'Bucket': bucket}
    while True:
        r = c.list_multipart_uploads(**args)
        for u in r.get('Uploads', []):
            print(u['Key'], u['UploadId'])
        if not r.get('IsTruncated'):
            return
        args['KeyMarker'] = r['NextKeyMarker']
        args['UploadIdMarker'] = r['NextUploadIdMarker']


def versions(c, bucket, prefix):
    args = {'Bucket': bucket, 'Prefix': prefix}
    while True:
        r = c.list_object_versions(**args)
        for v in r.get('Versions', []):
            print(v['Key'], v['VersionId'],
                  'latest' if v['IsLatest'] else 'old')
        for v in r.get('DeleteMarkers', []):
            print(v['Key'], v['VersionId'], 'marker')
        if not r.get('IsTruncated'):
            return
        args['KeyMarker'] = r['NextKeyMarker']
        args['VersionIdMarker'] = r['NextVersionIdMarker']


def lock(c, bucket, key):
    h = c.head_object(Bucket=bucket, Key=key)
    mode = h.get('ObjectLockMode')
    if not mode:
        print('none')
        return
    print(mode, h['ObjectLockRetainUntilDate'].strftime('%Y-%m-%dT%H:%M:%SZ'))


def bucketlock(c, bucket):
    try:
        r = c.get_object_lock_configuration(Bucket=bucket)
        print(r['ObjectLockConfiguration'].get('ObjectLockEnabled', 'none'))
    except ClientError:
        print('none')


def refused(fn):
    try:
        fn()
    except ClientError as e:
        print(e.response['Error']['Code'], file=sys.stderr)
        if e.response['ResponseMetadata']['HTTPStatusCode'] == 403:
            sys.exit(3)
        raise


def main():
    ep, ak, sk, cmd = sys.argv[1:5]
    a = sys.argv[5:]
    c = client(ep, ak, sk)
    if cmd == 'mkbucket':
        mkbucket(c, *a)
    elif cmd == 'uploads':
        uploads(c, a[0])
    elif cmd == 'versions':
        versions(c, a[0], a[1] if len(a) > 1 else '')
    elif cmd == 'lock':
        lock(c, a[0], a[1])
    elif cmd == 'bucketlock':
        bucketlock(c, a[0])
    elif cmd == 'delver':
        kw = {'Bucket': a[0], 'Key': a[1], 'VersionId': a[2]}
        if len(a) > 3 and a[3] == 'bypass':
            kw['BypassGovernanceRetention'] = True
        refused(lambda: c.delete_object(**kw))
    elif cmd == 'policy':
        with open(a[1]) as f:
            c.put_bucket_policy(Bucket=a[0], Policy=f.read())
    elif cmd == 'put':
        with open(a[2], 'rb') as f:
            body = f.read()
        refused(lambda: c.put_object(Bucket=a[0], Key=a[1], Body=body))
    elif cmd == 'abort':
        c.abort_multipart_upload(Bucket=a[0], Key=a[1], UploadId=a[2])
    elif cmd == 'etag':
        print(c.head_object(Bucket=a[0], Key=a[1])['ETag'].strip('"'))
    elif cmd == 'putmany':
        for i in range(1, int(a[2]) + 1):
            c.put_object(Bucket=a[0], Key='%sf%04d' % (a[1], i),
                         Body=b'%04d\n' % i)
    elif cmd == 'get':
        with open(a[2], 'wb') as f:
            f.write(c.get_object(Bucket=a[0], Key=a[1])['Body'].read())
    elif cmd == 'rm':
        c.delete_object(Bucket=a[0], Key=a[1])
    elif cmd == 'retain':
        ret = {'Mode': 'GOVERNANCE', 'RetainUntilDate': a[2]}
        refused(lambda: c.put_object_retention(
            Bucket=a[0], Key=a[1], Retention=ret,
            BypassGovernanceRetention=len(a) > 3 and a[3] == 'bypass'))
    else:
        sys.exit('rgw.py: unknown command ' + cmd)


if __name__ == '__main__':
    main()
