"""What a Kafka consumer group holds now, asked of the broker (DescribeGroups), for tests of group membership."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from shared.runtime.settings import CommonSettings


async def group_members(settings: CommonSettings, group: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group])
        (described,) = response.groups
        return {member[0] for member in described[5]}
    finally:
        await admin.close()
