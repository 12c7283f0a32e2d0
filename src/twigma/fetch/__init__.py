"""Getting the real data: the Zenodo release, tweet rehydration, image download, reference sets.

zenodo      the release table from Zenodo record 8031785 (make data)
x_api       tweet text, metrics and media URLs by tweet id from the X API v2 (make rehydrate)
images      the images behind the media URLs, named by image_name (make images)
references  natural photographs (MS-COCO 2017 val) and artworks (WikiArt) (make refs)
http        downloads with retries, size caps, checksums and atomic writes, shared by the above

Every host is configurable, which is how the tests point them at servers on 127.0.0.1.
"""
